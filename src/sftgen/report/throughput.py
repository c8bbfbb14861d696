"""Throughput per step for `sftgen status`: items per second in the latest run that processed the step.

A step's items are committed in batches (every 64 items or 0.5 s), so the rate is measured between the
first and last commit of the step in that run; a step finished in one commit has no rate.
"""

from __future__ import annotations

from sftgen.store import Store


def step_throughput(store: Store) -> dict[str, float | None]:
    runs = [row[0] for row in store.conn.execute("SELECT started_at FROM runs ORDER BY id DESC")]
    rates: dict[str, float | None] = {}
    for step, in store.conn.execute("SELECT DISTINCT step FROM progress").fetchall():
        rates[step] = latest_rate(store, step, runs)
    return rates


def latest_rate(store: Store, step: str, run_starts: list[float]) -> float | None:
    for started in run_starts:  # newest run first: the latest run that committed items of this step
        n, first, last = store.conn.execute(
            "SELECT COUNT(*), MIN(done_at), MAX(done_at) FROM progress WHERE step=? AND done_at >= ?",
            (step, started)).fetchone()
        if n:
            first_batch = store.conn.execute(
                "SELECT COUNT(*) FROM progress WHERE step=? AND done_at = ?", (step, first)).fetchone()[0]
            span = last - first
            return (n - first_batch) / span if span > 0 else None
    return None
