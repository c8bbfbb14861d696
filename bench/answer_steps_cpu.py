"""CPU per LLM request of the answer and answer_eval steps alone (issue 17), over a project a
`bench/pipeline_scale.py --keep DIR` run left: each round copies the project, takes out what the answer
steps made (their progress, emits and LLM cache rows, the answers and the texts only they held), starts the
scripted server of bench/scale on 127.0.0.1 and runs `sftgen run` on the copy through bench/scale/timed_cli.py;
the earlier steps have nothing to do, so the answer steps run as in the first run, and their CPU per request
(the process's CPU in each step's window) is printed per round, with the median.

The kept project is only read. Run it with the code to measure on the path (`PYTHONPATH=src`, or another
checkout's `src` for a before figure); `--keep-copy DIR` leaves the last round's copy there (to compare
its exports); `--profile-dir DIR` records each round with py-spy (DIR/run-N.speedscope.json;
bench/scale/profile_steps.py reads it). `--steps`/`--measure`/`--until` take out and time other steps (the
answer half's without requests: `--steps answer_search,answer_retrieve --measure answer_search,answer_retrieve
--until answer_retrieve`, CPU per item); `--before-src OTHER/src` runs each round with that code first, then
with this one, alternating.

    PYTHONPATH=src .venv/bin/python bench/answer_steps_cpu.py KEPT/project-2000 [--rounds 3] [--latency 0.2]
        [--steps S1,S2] [--measure S1,S2] [--until S2] [--before-src DIR] [--keep-copy DIR] [--profile-dir DIR]
"""

from __future__ import annotations

import argparse
import os
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


def forget_answer_steps(store_path: Path, forgotten: tuple[str, ...] = STEPS) -> int:
    """Remove what the `forgotten` steps made from the store, as if they had never run (their records, when
    no other step emits them); how many LLM cache rows went."""
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    steps = [row[0] for row in conn.execute(
        f"SELECT n FROM names WHERE name IN ({','.join('?' * len(forgotten))})", forgotten)]
    marks = ",".join("?" * len(steps))
    keys = [key for (joined,) in conn.execute(
        f"SELECT cache_keys FROM progress_rows WHERE step IN ({marks}) AND cache_keys IS NOT NULL", steps)
        for key in joined.split()]
    for key in keys:
        conn.execute("DELETE FROM llm_rows WHERE k = ? AND tail = ?", key_parts(key))
    labels = [row[0] for row in conn.execute(
        f"SELECT label FROM progress_rows WHERE step IN ({marks}) AND label > 0", steps)]
    conn.execute(f"DELETE FROM progress_rows WHERE step IN ({marks})", steps)
    conn.execute("CREATE TEMP TABLE made (n INTEGER PRIMARY KEY)")
    conn.execute(f"""INSERT INTO made SELECT DISTINCT item FROM emit_rows e WHERE step IN ({marks})
                     AND NOT EXISTS (SELECT 1 FROM emit_rows o WHERE o.item = e.item AND o.step NOT IN ({marks}))""",
                 steps + steps)
    texts = {row[0] for row in conn.execute("SELECT text FROM record_rows WHERE n IN (SELECT n FROM made)")}
    conn.execute(f"DELETE FROM emit_rows WHERE step IN ({marks})", steps)
    conn.execute("DELETE FROM record_rows WHERE n IN (SELECT n FROM made)")
    held = {row[0] for row in conn.execute("SELECT text FROM record_rows UNION SELECT label FROM progress_rows")}
    # a text no record and no progress label holds any more
    conn.executemany("DELETE FROM texts WHERE n = ?", [(n,) for n in (texts | set(labels)) - held])
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return len(keys)


def prepared_copy(project: Path, target: Path, base_url: str, forgotten: tuple[str, ...] = STEPS) -> Path:
    shutil.copytree(project, target, symlinks=True)
    state = target / ".sftgen"
    for name in ("settled.json", "status.json"):
        (state / name).unlink(missing_ok=True)
    forget_answer_steps(state / "store.db", forgotten)
    recipe_path = target / "recipe.yaml"
    recipe = yaml.safe_load(recipe_path.read_text())
    recipe["llm"]["base_url"] = base_url
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return target


def per_item(entry: dict[str, float]) -> tuple[float, str]:
    """ms CPU per LLM request (per item for a step without requests), and what it is per."""
    requests, items = entry.get("llm_requests", 0), entry.get("items", 0)
    count, unit = (requests, "requests") if requests else (items, "items")
    return (1000 * entry.get("cpu_s", 0.0) / count if count else float("nan")), f"{count:,} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--steps", default=",".join(STEPS),
                        help="the steps taken out of the copy (with every step after them that reads theirs)")
    parser.add_argument("--measure", default=",".join(MEASURED), help="the steps whose CPU is printed")
    parser.add_argument("--until", default=None, help="`sftgen run --until` this step")
    parser.add_argument("--before-src", type=Path, default=None,
                        help="another checkout's src: each round runs it first, then the code on the path")
    parser.add_argument("--keep-copy", type=Path, default=None, help="move the last round's copy here")
    parser.add_argument("--profile-dir", type=Path, default=None, help="py-spy each round into this folder")
    args = parser.parse_args()
    forgotten, measured = tuple(args.steps.split(",")), tuple(args.measure.split(","))
    sources = [("before", str(args.before_src)), ("after", os.environ.get("PYTHONPATH", ""))] if args.before_src \
        else [("", os.environ.get("PYTHONPATH", ""))]
    figures: dict[tuple[str, str], list[float]] = {(code, step): [] for code, _ in sources for step in measured}
    server = spawn_scripted_server(args.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="answer-steps-") as tmp:
            for round_ in range(args.rounds):
                for code, source in sources:
                    os.environ["PYTHONPATH"] = source  # the timed command line's environment is this one's
                    copy = prepared_copy(args.project, Path(tmp) / f"project-{round_}", server.base_url, forgotten)
                    server.reset()
                    profiling = Profiling(args.profile_dir) if args.profile_dir is not None else None
                    command = ["run", str(copy)] + (["--until", args.until] if args.until else [])
                    result = run_sftgen(command, Path(tmp), f"run-{round_}{code}", profiling,
                                        timeout_s=args.timeout).check()
                    steps = steps_summary(result)
                    line = []
                    for step in measured:
                        entry = steps.get(step, {})
                        ms, count = per_item(entry)
                        figures[(code, step)].append(ms)
                        line.append(f"{step} {ms:.3f} ms ({count}, {entry.get('cpu_s', 0.0):.2f} CPU-s)")
                    print(f"round {round_ + 1}{' ' + code if code else ''}: " + "; ".join(line), flush=True)
                    if args.keep_copy is not None and round_ == args.rounds - 1:
                        target = args.keep_copy / code if code else args.keep_copy
                        shutil.rmtree(target, ignore_errors=True)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.move(str(copy), target)
                    else:
                        shutil.rmtree(copy)
    finally:
        server.close()
    print("median CPU per LLM request (per item without requests): " + "; ".join(
        f"{code + ' ' if code else ''}{step} {statistics.median(values):.3f} ms (best {min(values):.3f})"
        for (code, step), values in figures.items()))


if __name__ == "__main__":
    main()
