"""CPU of answer_queries and answer_search alone (issue 17): the scale bench's project (bench/scale/project.py)
is run once up to the review gate against the scripted LLM server; each round then copies it and runs
`sftgen run --until answer_search` on the copy (`--base-until answer_queries`: answer_search alone) through the timed command line (bench/scale/timed_cli.py),
and prints each step's process CPU per request / per query. The best and median rounds are printed (a busy
machine slows some rounds); `--profile-dir` adds a py-spy profile of the last round (read it with
bench/scale/profile_steps.py). `--base DIR` reuses a project an earlier call left there.

    PYTHONPATH=src .venv/bin/python bench/search_steps_run.py [--size 2000] [--rounds 3] [--workdir DIR]
        [--base DIR] [--profile-dir DIR] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.support` lives in the repo, not the package
    sys.path.insert(0, str(ROOT))

from scale.commands import Profiling, run_sftgen, steps_summary  # noqa: E402
from scale.project import make_scale_project  # noqa: E402
from scale.scripted_server import spawn_scripted_server  # noqa: E402

STEPS = ("answer_queries", "answer_search")


def pointed_at(project: Path, base_url: str) -> None:
    """The project's recipe asks this server (a kept base was made against another one)."""
    path = project / "recipe.yaml"
    recipe = yaml.safe_load(path.read_text())
    recipe["llm"]["base_url"] = base_url
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--base", type=Path, default=None, help="the project run up to the review gate (made if absent)")
    parser.add_argument("--profile-dir", type=Path, default=None)
    parser.add_argument("--base-until", default="review_gate", choices=["review_gate", "answer_queries"],
                        help="answer_queries: the rounds run answer_search alone")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="answer-steps-"))
    work.mkdir(parents=True, exist_ok=True)
    base = args.base or work / f"base-{args.size}-{args.base_until}"
    server = spawn_scripted_server(args.latency)
    try:
        base_url = f"http://127.0.0.1:{server.port}/v1"
        if not (base / "recipe.yaml").exists():
            make_scale_project(base, args.size, base_url, args.concurrency)
            print(f"running {base} up to {args.base_until} ...", flush=True)
            run_sftgen(["run", str(base), "--until", args.base_until], work, "base").check()
        rounds: dict[str, list[tuple[float, int, int]]] = {step: [] for step in STEPS}
        for index in range(args.rounds):
            copy = work / f"round-{index}"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(base, copy, symlinks=True)
            pointed_at(copy, base_url)
            profiling = (Profiling(args.profile_dir) if args.profile_dir is not None and index == args.rounds - 1
                         else None)
            result = run_sftgen(["run", str(copy), "--until", "answer_search"], work, f"round-{index}",
                                profiling).check()
            steps = steps_summary(result)
            for step in STEPS:
                figures = steps.get(step, {})
                rounds[step].append((figures.get("cpu_s", 0.0), int(figures.get("items", 0)),
                                     int(figures.get("llm_requests", 0))))
            print(f"round {index}: " + ", ".join(f"{step} {rounds[step][-1][0]:.2f} CPU-s" for step in STEPS),
                  flush=True)
            if index < args.rounds - 1:
                shutil.rmtree(copy, ignore_errors=True)
    finally:
        server.close()
    print(f"\n{args.size} prompts, {args.rounds} rounds (CPU of the sftgen process per step):")
    for step in STEPS:
        cpus = [cpu for cpu, _, _ in rounds[step]]
        _, items, requests = rounds[step][-1]
        if not items:
            continue
        per = requests if requests else items
        unit = "request" if requests else "item"
        print(f"  {step:<16} {items:>6,} items {requests:>6,} requests   best {min(cpus):6.2f} s = "
              f"{1000 * min(cpus) / max(per, 1):.3f} ms/{unit}   median {statistics.median(cpus):6.2f} s = "
              f"{1000 * statistics.median(cpus) / max(per, 1):.3f} ms/{unit}")


if __name__ == "__main__":
    main()
