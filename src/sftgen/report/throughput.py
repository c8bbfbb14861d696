"""Throughput per step for `sftgen status`: items per second in the latest run that processed the step.

A step's items are committed in batches (every 64 items or 0.5 s), so the rate is measured between the
first and last commit of the step in that run; a step finished in one commit has no rate.
"""

from __future__ import annotations

from bisect import bisect_left

from sftgen.store import Store


def step_throughput(store: Store) -> dict[str, float | None]:
    return rates_of(store, store.progress.commit_times())


def rates_of(store: Store, commit_times: dict[str, list[tuple[float, int]]]) -> dict[str, float | None]:
    """Per step, its rate from its commits (as `Progress.commit_times` gives them)."""
    runs = store.runs.start_times()
    return {step: latest_rate(commits, runs) for step, commits in commit_times.items()}


def latest_rate(commits: list[tuple[float, int]], run_starts: list[float]) -> float | None:
    """`commits`: the step's (time, items) oldest first; `run_starts`: newest first."""
    times = [done_at for done_at, _ in commits]
    for started in run_starts:  # newest run first: the latest run that committed items of this step
        since = bisect_left(times, started)
        if since < len(commits):
            n = sum(count for _, count in commits[since:])
            span = commits[-1][0] - commits[since][0]
            return (n - commits[since][1]) / span if span > 0 else None
    return None
