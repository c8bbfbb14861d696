"""What an export holds: the kept records of one kind, each with its provenance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from sftgen.export.errors import ExportError
from sftgen.export.conform import DoesNotFit, as_text, conform_row, split_meta
from sftgen.export.preference_reads import preferences_rows
from sftgen.export.schema import PROVENANCE_KEYS, meta_fields, preference_schema, record_schema, sft_schema
from sftgen.export.sft import sft_rows
from sftgen.pipeline import steps_passing_on
from sftgen.recipe.answer_settings import DEFAULT_RUBRIC
from sftgen.records import Record
from sftgen.steps.base import Step
from sftgen.store import Store

# Export names, furthest last: without --what, the furthest one that has records is exported (`preferences`
# only when asked for: it is not one of the kinds a project moves through).
KIND_OF_EXPORT = {"chunks": "chunk", "prompts": "prompt", "answers": "answer", "sft": "answer"}
EXPORT_ORDER = ["chunks", "prompts", "answers", "sft"]

RowBuilder = Callable[..., Iterator[dict[str, Any]]]
"""(store, steps, recipe=None) -> rows; `recipe` is the project's Recipe when the CLI exports."""
ROW_BUILDERS: dict[str, RowBuilder] = {"sft": sft_rows, "preferences": preferences_rows}
"""Exports whose rows are not one record each (`sft`: prompt-answer pairs as chat messages; `preferences`:
chosen-rejected answer pairs)."""


class NothingToExport(ExportError):
    pass


class RowDoesNotFit(ExportError):
    """A row's value does not fit the export's schema (e.g. an answer scored under an older rubric)."""


LEFT_OUT_META = frozenset({"llm_cache_keys"})


def rubric_of(recipe: Any) -> list[str]:
    """The rubric dimensions the scores structs have: the recipe's, else the default rubric's."""
    rubric = getattr(getattr(recipe, "answers", None), "rubric", None)
    return [dimension.name for dimension in (rubric or DEFAULT_RUBRIC)]


def export_schema(what: str, recipe: Any = None) -> pa.Schema:
    """The Arrow schema of an export kind: fixed by the kind and the recipe's rubric, not by the data."""
    if what == "sft":
        return sft_schema(rubric_of(recipe))
    if what == "preferences":
        return preference_schema()
    return record_schema(KIND_OF_EXPORT[what], rubric_of(recipe))


def kept_records(store: Store, steps: list[Step], kind: str) -> Iterator[Record]:
    """What the furthest step of this kind that has run passes on (after `run --until chunk`, the chunks)."""
    final = furthest_run_step(store, steps, kind)
    if final is None:
        return iter(())
    return (record for record in store.emitted(final.name, kind=kind) if record.status == "kept")


def furthest_run_step(store: Store, steps: list[Step], kind: str) -> Step | None:
    passing = steps_passing_on(steps, kind)
    for step in reversed(passing):
        if store.conn.execute("SELECT 1 FROM progress WHERE step=? LIMIT 1", (step.name,)).fetchone():
            return step
    return passing[0] if passing else None


SHORT_TEXT_KINDS = ("profile", "prompt", "query")
"""Ancestors whose text goes into the provenance (documents and chunks are named by source and id)."""


def provenance(store: Store, record: Record) -> list[dict[str, Any]]:
    """The record's ancestors, nearest first: id, kind, step and where they came from."""
    chain = []
    for ancestor in store.lineage(record.id)[1:]:
        entry = {"id": ancestor.id, "kind": ancestor.kind, "step": ancestor.step}
        entry.update({key: as_text(ancestor.meta.get(key)) or None for key in PROVENANCE_KEYS})
        # e.g. the prompt before it was rephrased, the profile's summary
        entry["text"] = ancestor.text if ancestor.kind in SHORT_TEXT_KINDS else None
        chain.append(entry)
    return chain


def step_history(store: Store, record_id: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT step, outcome, reason, done_at FROM progress WHERE item_id=? ORDER BY done_at", (record_id,)
    ).fetchall()
    return [dict(row) for row in rows]


def record_row(record: Record, fields: dict[str, pa.DataType], chain: list[dict[str, Any]],
               history: list[dict[str, Any]]) -> dict[str, Any]:
    meta, extra = split_meta(record.meta, fields, leave_out=LEFT_OUT_META)
    return {
        "id": record.id,
        "kind": record.kind,
        "made_by": record.step,
        "text": record.text,
        "meta": meta,
        "meta_extra": extra,
        "parent_ids": record.parent_ids,
        "provenance": chain,
        "history": history,
    }


def record_rows(store: Store, steps: list[Step], kind: str, recipe: Any = None) -> Iterator[dict[str, Any]]:
    fields = meta_fields(kind, rubric_of(recipe))
    for record in kept_records(store, steps, kind):
        yield record_row(record, fields, provenance(store, record), step_history(store, record.id))


def export_rows(store: Store, steps: list[Step], what: str, recipe: Any = None) -> Iterator[dict[str, Any]]:
    """The export's rows, each with exactly the columns and types of `export_schema(what, recipe)`."""
    return conformed(raw_rows(store, steps, what, recipe), export_schema(what, recipe), what)


def raw_rows(store: Store, steps: list[Step], what: str, recipe: Any = None) -> Iterator[dict[str, Any]]:
    if what in ROW_BUILDERS:
        return ROW_BUILDERS[what](store, steps, recipe=recipe)
    return record_rows(store, steps, KIND_OF_EXPORT[what], recipe)


def conformed(rows: Iterator[dict[str, Any]], schema: pa.Schema, what: str) -> Iterator[dict[str, Any]]:
    for row in rows:
        try:
            yield conform_row(row, schema, f"{what} row {row.get('id')}")
        except DoesNotFit as exc:
            raise RowDoesNotFit(f"{exc} (`sftgen run` brings the store up to the recipe: e.g. it scores "
                                "answers again under a changed rubric)") from exc


def furthest_export(store: Store, steps: list[Step]) -> str:
    for what in reversed(EXPORT_ORDER):
        if what in ROW_BUILDERS or what != "sft":
            if next(iter(raw_rows(store, steps, what)), None) is not None:
                return what
    raise NothingToExport("nothing to export yet: no kept chunks, prompts or answers (run `sftgen run` first)")
