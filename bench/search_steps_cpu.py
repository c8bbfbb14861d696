"""CPU per item of answer_search (per query) or answer_queries (per prompt, one request each) run alone in
this process (issue 17), over copies of a project whose pipeline stopped just before the step
(`bench/search_steps_run.py` leaves one: `--base-until answer_queries` for answer_search, the default for
answer_queries). Each round copies the project afresh and runs the step through the local executor, its
search, page reads, LLM requests (to the scripted server on 127.0.0.1, started here) and store writes
included. The first round also pays the imports and is printed apart; the best and median of the others
are the step's steady cost. The kept project is only copied, never written.

    PYTHONPATH=src .venv/bin/python bench/search_steps_cpu.py BASE [--step answer_search] [--rounds 5]
        [--workdir DIR] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.fakes` lives in the repo, not the package
    sys.path.insert(0, str(ROOT))

from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project

def one_round(base: Path, copy: Path, step: str = "answer_search", base_url: str | None = None) -> tuple[float, int]:
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(base, copy, symlinks=True)
    if base_url is not None:
        from search_steps_run import pointed_at

        pointed_at(copy, base_url)
    project = Project.open(copy)
    pipeline = standard_pipeline(project.recipe)
    started = time.process_time()
    summary = asyncio.run(run_project(project, RunOptions(until=step), pipeline=pipeline,
                                      steps=[pipeline.step(step)]))
    return time.process_time() - started, summary.processed.get(step, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--step", choices=["answer_search", "answer_queries"], default="answer_search")
    parser.add_argument("--latency", type=float, default=0.05, help="the scripted server's (answer_queries)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="search-steps-"))
    copy = work / "round"
    server = None
    if args.step == "answer_queries":
        from scale.scripted_server import spawn_scripted_server

        server = spawn_scripted_server(args.latency)
    base_url = f"http://127.0.0.1:{server.port}/v1" if server is not None else None
    cpus = []
    try:
        for index in range(args.rounds + 1):
            cpu, items = one_round(args.base, copy, args.step, base_url)
            label = "first (imports)" if index == 0 else f"round {index}"
            print(f"  {label:<16} {cpu:6.2f} CPU-s = {1000 * cpu / max(items, 1):.3f} ms per item ({items:,} items)",
                  flush=True)
            if index:
                cpus.append(cpu)
    finally:
        if server is not None:
            server.close()
    shutil.rmtree(copy, ignore_errors=True)
    print(f"{args.step}: best {1000 * min(cpus) / max(items, 1):.3f} ms per item, "
          f"median {1000 * statistics.median(cpus) / max(items, 1):.3f}")


if __name__ == "__main__":
    main()
