"""CPU per LLM request of the answer and answer_eval steps alone (issue 17), over a project a
`bench/pipeline_scale.py --keep DIR` run left: each round copies the project, takes out what the answer
steps made (their progress, emits and LLM cache rows, the answers and the texts only they held), starts the
scripted server of bench/scale on 127.0.0.1 and runs `sftgen run` on the copy through bench/scale/timed_cli.py;
the earlier steps have nothing to do, so the answer steps run as in the first run, and their CPU per request
(the process's CPU in each step's window) is printed per round, with the median.

The kept project is only read. Run it with the code to measure on the path (`PYTHONPATH=src`, or another
checkout's `src` for a before figure); `--keep-copy DIR` leaves the last round's copy there (to compare
its exports); `--profile-dir DIR` records each round with py-spy (DIR/run-N.speedscope.json;
bench/scale/profile_steps.py reads it).

    PYTHONPATH=src .venv/bin/python bench/answer_steps_cpu.py KEPT/project-2000 [--rounds 3] [--latency 0.2]
        [--keep-copy DIR] [--profile-dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.fakes` lives in the repo, not the package
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from scale.commands import Profiling, run_sftgen, steps_summary  # noqa: E402
from scale.scripted_server import spawn_scripted_server  # noqa: E402

from sftgen.store.cache_keys import key_parts  # noqa: E402

STEPS = ("answer", "answer_eval", "answer_review_gate")
"""The steps taken out of the copy: the answer, its judge and the review gate after them."""
MEASURED = ("answer", "answer_eval")


def forget_answer_steps(store_path: Path) -> int:
    """Remove what STEPS made from the store, as if they had never run; how many LLM cache rows went."""
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    steps = [row[0] for row in conn.execute(
        f"SELECT n FROM names WHERE name IN ({','.join('?' * len(STEPS))})", STEPS)]
    marks = ",".join("?" * len(steps))
    keys = [key for (joined,) in conn.execute(
        f"SELECT cache_keys FROM progress_rows WHERE step IN ({marks}) AND cache_keys IS NOT NULL", steps)
        for key in joined.split()]
    for key in keys:
        conn.execute("DELETE FROM llm_rows WHERE k = ? AND tail = ?", key_parts(key))
    labels = [row[0] for row in conn.execute(
        f"SELECT label FROM progress_rows WHERE step IN ({marks}) AND label > 0", steps)]
    conn.execute(f"DELETE FROM progress_rows WHERE step IN ({marks})", steps)
    made = [row[0] for row in conn.execute(
        f"SELECT item FROM emit_rows WHERE step IN ({marks}) AND item IN (SELECT n FROM record_rows WHERE kind = 'answer')",
        steps)]
    texts = [row[0] for row in conn.execute(
        f"SELECT text FROM record_rows WHERE n IN ({','.join('?' * len(made))})", made)] if made else []
    conn.execute(f"DELETE FROM emit_rows WHERE step IN ({marks})", steps)
    conn.executemany("DELETE FROM record_rows WHERE n = ?", [(n,) for n in made])
    for n in set(texts) | set(labels):  # a text no record and no progress label holds any more
        conn.execute("""DELETE FROM texts WHERE n = ? AND NOT EXISTS (SELECT 1 FROM record_rows WHERE text = ?)
                        AND NOT EXISTS (SELECT 1 FROM progress_rows WHERE label = ?)""", (n, n, n))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return len(keys)


def prepared_copy(project: Path, target: Path, base_url: str) -> Path:
    shutil.copytree(project, target, symlinks=True)
    state = target / ".sftgen"
    for name in ("settled.json", "status.json"):
        (state / name).unlink(missing_ok=True)
    forget_answer_steps(state / "store.db")
    recipe_path = target / "recipe.yaml"
    recipe = yaml.safe_load(recipe_path.read_text())
    recipe["llm"]["base_url"] = base_url
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--keep-copy", type=Path, default=None, help="move the last round's copy here")
    parser.add_argument("--profile-dir", type=Path, default=None, help="py-spy each round into this folder")
    args = parser.parse_args()
    figures: dict[str, list[float]] = {step: [] for step in MEASURED}
    server = spawn_scripted_server(args.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="answer-steps-") as tmp:
            for round_ in range(args.rounds):
                copy = prepared_copy(args.project, Path(tmp) / f"project-{round_}", server.base_url)
                server.reset()
                profiling = Profiling(args.profile_dir) if args.profile_dir is not None else None
                result = run_sftgen(["run", str(copy)], Path(tmp), f"run-{round_}", profiling,
                                    timeout_s=args.timeout).check()
                steps = steps_summary(result)
                line = []
                for step in MEASURED:
                    entry = steps.get(step, {})
                    requests = entry.get("llm_requests", 0)
                    ms = 1000 * entry.get("cpu_s", 0.0) / requests if requests else float("nan")
                    figures[step].append(ms)
                    line.append(f"{step} {ms:.3f} ms ({requests:,} requests, {entry.get('cpu_s', 0.0):.2f} CPU-s)")
                print(f"round {round_ + 1}: " + "; ".join(line), flush=True)
                if args.keep_copy is not None and round_ == args.rounds - 1:
                    shutil.rmtree(args.keep_copy, ignore_errors=True)
                    shutil.move(str(copy), args.keep_copy)
                else:
                    shutil.rmtree(copy)
    finally:
        server.close()
    print("median CPU per LLM request: " + "; ".join(
        f"{step} {statistics.median(values):.3f} ms (best {min(values):.3f})" for step, values in figures.items()))


if __name__ == "__main__":
    main()
