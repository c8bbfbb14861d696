"""CPU per query of the answer_search step run in this process (issue 17): over copies of a project whose
pipeline stopped after answer_queries (`bench/answer_steps_cpu.py --base-until answer_queries` leaves one),
each round copies it afresh and runs the step alone through the local executor (no LLM), the search, the
page reads and the store's writes included. The first round also pays the imports (httpx, bm25s...) and
is printed apart; the best and median of the others are the step's steady cost. The kept project is only
copied, never written.

    PYTHONPATH=src .venv/bin/python bench/answer_search_cpu.py BASE [--rounds 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project

STEP = "answer_search"


def one_round(base: Path, copy: Path) -> tuple[float, int]:
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(base, copy, symlinks=True)
    project = Project.open(copy)
    pipeline = standard_pipeline(project.recipe)
    started = time.process_time()
    summary = asyncio.run(run_project(project, RunOptions(until=STEP), pipeline=pipeline,
                                      steps=[pipeline.step(STEP)]))
    return time.process_time() - started, summary.processed.get(STEP, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="answer-search-"))
    copy = work / "round"
    cpus = []
    for index in range(args.rounds + 1):
        cpu, queries = one_round(args.base, copy)
        label = "first (imports)" if index == 0 else f"round {index}"
        print(f"  {label:<16} {cpu:6.2f} CPU-s = {1000 * cpu / max(queries, 1):.3f} ms per query ({queries:,} queries)",
              flush=True)
        if index:
            cpus.append(cpu)
    shutil.rmtree(copy, ignore_errors=True)
    print(f"{STEP}: best {1000 * min(cpus) / max(queries, 1):.3f} ms per query, "
          f"median {1000 * statistics.median(cpus) / max(queries, 1):.3f}")


if __name__ == "__main__":
    main()
