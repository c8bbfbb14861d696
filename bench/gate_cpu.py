"""CPU per item of the two review gates alone (issue 17), over a copy of a project a
`bench/pipeline_scale.py --keep DIR` run left: each round takes the gates' progress and emits out of the
copy (as if they had never run) and runs `review_gate` and `answer_review_gate` again in this process;
rounds alternate the gates' page read of the decisions (`prepare_inputs`) with the read item by item
(`prepare_inputs` off, as before it existed), and the CPU of each step's window is printed per round,
with the best and the median of each way.

The kept project is only read (copied to `--copy DIR`, or a temporary folder).

    PYTHONPATH=src .venv/bin/python bench/gate_cpu.py KEPT/project-2000 [--rounds 3] [--copy DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sftgen.core.step import Step
from sftgen.project import Project
from sftgen.run.executors.local import LocalExecutor
from sftgen.pipeline import standard_pipeline
from sftgen.run.runner import run_project
from sftgen.steps import review_gate

GATES = ("review_gate", "answer_review_gate")
WAYS = ("item by item", "page read")


def forget_steps(store_path: Path, names: tuple[str, ...]) -> None:
    """These steps' progress and emit rows removed, so they see every input as new."""
    conn = sqlite3.connect(store_path, isolation_level=None)
    steps = [row[0] for row in conn.execute(f"SELECT n FROM names WHERE name IN ({','.join('?' * len(names))})", names)]
    marks = ",".join("?" * len(steps))
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(f"DELETE FROM progress_rows WHERE step IN ({marks})", steps)
    conn.execute(f"DELETE FROM emit_rows WHERE step IN ({marks})", steps)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


PAGE_READS = {gate: gate.__dict__["prepare_inputs"] for gate in (review_gate.ReviewGate, review_gate.AnswerReviewGate)}


def page_read(on: bool) -> None:
    """The gates with their `prepare_inputs` (on) or with the Step's, which does nothing (off)."""
    for gate, prepare in PAGE_READS.items():
        gate.prepare_inputs = prepare if on else Step.prepare_inputs


def timed_steps(windows: dict[str, list[float]]) -> None:
    """Each step's CPU (and items done) added to `windows` as the executor runs it."""
    run_step = LocalExecutor.run_step

    async def timed(self, step, ctx):
        started = time.process_time()
        done = await run_step(self, step, ctx)
        windows.setdefault(step.name, []).append((time.process_time() - started, done))
        return done

    LocalExecutor.run_step = timed


def one_round(copy: Path, windows: dict, steps: tuple[str, ...] = GATES) -> dict[str, tuple[float, int]]:
    """Run these steps (each seeing every input as new) on the copy; each one's CPU and items done."""
    for name in ("settled.json", "status.json"):
        (copy / ".sftgen" / name).unlink(missing_ok=True)
    forget_steps(copy / ".sftgen" / "store.db", steps)
    windows.clear()
    project = Project.open(copy)

    pipeline = standard_pipeline(project.recipe)
    asyncio.run(run_project(project, pipeline=pipeline, steps=[pipeline.step(name) for name in steps]))
    return {name: (sum(cpu for cpu, _ in windows.get(name, [])), sum(done for _, done in windows.get(name, [])))
            for name in steps}


def arguments(doc: str) -> argparse.Namespace:
    """The kept project, the rounds of each way and where to copy it (these benches' command line)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each way")
    parser.add_argument("--copy", type=Path, default=None, help="copy the project here (default: a temporary folder)")
    return parser.parse_args()


@contextlib.contextmanager
def timed_copy(args: argparse.Namespace, prefix: str) -> Iterator[tuple[Path, dict]]:
    """The kept project's copy (made unless `--copy` names one that exists) and the steps' timing windows."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        copy = args.copy or Path(tmp) / "project"
        if not copy.exists():
            shutil.copytree(args.project, copy, symlinks=True)
        windows: dict = {}
        timed_steps(windows)
        yield copy, windows


def main() -> None:
    args = arguments(__doc__)
    with timed_copy(args, "gate-cpu-") as (copy, windows):
        figures = {(way, gate): [] for way in WAYS for gate in GATES}
        for round_ in range(args.rounds):
            for way in WAYS:
                page_read(way == "page read")
                for gate, (cpu, done) in one_round(copy, windows).items():
                    figures[way, gate].append(1000 * cpu / max(1, done))
                    print(f"round {round_ + 1} {way}: {gate} {done:,} items {cpu:.2f} CPU-s = "
                          f"{1000 * cpu / max(1, done):.3f} ms per item", flush=True)
        page_read(True)
    for gate in GATES:
        best = {way: min(figures[way, gate]) for way in WAYS}
        print(f"{gate}: " + "; ".join(f"{way} best {best[way]:.3f} ms (median {statistics.median(figures[way, gate]):.3f})"
                                       for way in WAYS) + f"; page/item {best['page read'] / best['item by item']:.2f}")


if __name__ == "__main__":
    main()
