"""Which records an export (and the report, and the samples after a run) takes: what the furthest step
of a kind that has run passes on, kept."""

from __future__ import annotations

from collections.abc import Iterator

from sftgen.core.graph import Node, Pipeline
from sftgen.records import Record, Status
from sftgen.store import Store


def kept_records(store: Store, pipeline: Pipeline, kind: str) -> Iterator[Record]:
    """What the furthest step of this kind that has run passes on (after `run --until chunk`, the chunks)."""
    final = furthest_run_step(store, pipeline, kind)
    if final is None:
        return iter(())
    return (record for record in store.emitted(final.name, kind=kind) if record.status == Status.KEPT)


def furthest_run_step(store: Store, pipeline: Pipeline, kind: str) -> Node | None:
    passing = pipeline.passing_on(kind)
    for step in reversed(passing):
        if store.progress.has_run(step.name):
            return step
    return passing[0] if passing else None
