"""Throughput per step for `sftgen status`: items per second in the latest run that processed the step.

A step's items are committed in batches (every 64 items or 0.5 s), so the rate is measured between the
first and last commit of the step in that run; a step finished in one commit has no rate.
"""

from __future__ import annotations

from sftgen.store import Store


def step_throughput(store: Store) -> dict[str, float | None]:
    runs = store.runs.start_times()
    return {step: latest_rate(store, step, runs) for step in store.progress.steps_done()}


def latest_rate(store: Store, step: str, run_starts: list[float]) -> float | None:
    for started in run_starts:  # newest run first: the latest run that committed items of this step
        n, first, last, first_batch = store.progress.committed_since(step, started)
        if n:
            span = last - first
            return (n - first_batch) / span if span > 0 else None
    return None
