"""Start-up time of the command line: `sftgen --help`, `sftgen status` on a small project (the example after
`run --until chunk`, no LLM needed), `python -c 'import sftgen.cli'` and an unchanged second
`sftgen run --until chunk` (funnel and samples printed, nothing to do), each the median wall time of
several whole processes (bare `python -c pass` printed as the floor).

    .venv/bin/python bench/cli_startup.py [--runs 9] [--before OLD_SRC]

--before OLD_SRC times a second source tree (e.g. a checkout of an older commit's `src/`, made with
`git worktree add /tmp/old <commit>`) with the same interpreter, in turn with this one, and prints the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def commands(project: Path) -> dict[str, list[str]]:
    run_cli = "from sftgen.cli import app; app()"
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import sftgen.cli": [sys.executable, "-c", "import sftgen.cli"],
        "sftgen --help": [sys.executable, "-c", run_cli, "--help"],
        "sftgen status": [sys.executable, "-c", run_cli, "status", str(project)],
        "sftgen run (nothing to do)": [sys.executable, "-c", run_cli, "run", str(project), "--until", "chunk"],
    }


def environment(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "100", "PYTHONDONTWRITEBYTECODE": "1"}


def wall_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def small_project(folder: Path) -> Path:
    project = folder / "example"
    env = environment(SRC)
    run_cli = "from sftgen.cli import app; app()"
    subprocess.run([sys.executable, "-c", run_cli, "init", str(project)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", run_cli, "run", str(project), "--until", "chunk"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--before", type=Path, help="another source tree (its src/ folder) to compare with")
    args = parser.parse_args()
    trees = {"now": SRC} if args.before is None else {"now": SRC, "before": args.before.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        project = small_project(Path(tmp))
        times: dict[tuple[str, str], list[float]] = {}
        for name, command in commands(project).items():
            for tree, src in trees.items():  # one warm-up each, so the page cache holds the files
                wall_time(command, environment(src))
            for _ in range(args.runs):
                for tree, src in trees.items():  # in turn, so drift in the machine's speed hits both alike
                    times.setdefault((name, tree), []).append(wall_time(command, environment(src)))
    load = os.getloadavg()[0]
    print(f"median wall seconds of {args.runs} runs (min-max); load average {load:.1f} on {os.cpu_count()} cores")
    for name in commands(Path(".")):
        row = f"  {name:<27}"
        for tree in trees:
            values = times[(name, tree)]
            row += f"  {tree}: {statistics.median(values):6.3f} ({min(values):.3f}-{max(values):.3f})"
        if "before" in trees:
            ratios = [b / a for a, b in zip(times[(name, "now")], times[(name, "before")])]
            row += f"  before/now: {statistics.median(ratios):.1f}x"
        print(row)


if __name__ == "__main__":
    main()
