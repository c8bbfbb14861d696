"""What an export holds: the kept records of one kind, each with its provenance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from sftgen.core.graph import Pipeline
from sftgen.export.errors import ExportError
from sftgen.export.conform import DoesNotFit, Misfit, as_text, fit_row, row_converter, split_meta
from sftgen.export.kept import kept_records
from sftgen.export.preference_reads import preferences_rows
from sftgen.export.reads import Ancestor, Ancestry, batches
from sftgen.export.schema import PROVENANCE_KEYS, meta_fields, preference_schema, record_schema, sft_schema
from sftgen.export.sft import sft_rows
from sftgen.recipe.answer_settings import DEFAULT_RUBRIC
from sftgen.records import Record, Status
from sftgen.store import Store

# Export names, furthest last: without --what, the furthest one that has records is exported (`preferences`
# only when asked for: it is not one of the kinds a project moves through).
KIND_OF_EXPORT = {"chunks": "chunk", "prompts": "prompt", "answers": "answer", "sft": "answer"}
EXPORT_ORDER = ["chunks", "prompts", "answers", "sft"]

RowBuilder = Callable[..., Iterator[dict[str, Any]]]
"""(store, pipeline, recipe=None) -> rows; `recipe` is the project's Recipe when the CLI exports."""
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


def has_candidates(recipe: Any) -> bool:
    return getattr(getattr(recipe, "answers", None), "candidates", 1) > 1


def export_schema(what: str, recipe: Any = None) -> pa.Schema:
    """The Arrow schema of an export kind: fixed by the kind and the recipe's rubric, not by the data."""
    if what == "sft":
        return sft_schema(rubric_of(recipe), candidates=has_candidates(recipe))
    if what == "preferences":
        return preference_schema()
    return record_schema(KIND_OF_EXPORT[what], rubric_of(recipe))


SHORT_TEXT_KINDS = ("profile", "prompt", "query")
"""Ancestors whose text goes into the provenance (documents and chunks are named by source and id)."""


def provenance_reader(store: Store) -> Ancestry:
    return Ancestry(store.lookups, meta_keys=PROVENANCE_KEYS, text_kinds=SHORT_TEXT_KINDS)


def provenance_chain(ancestry: Ancestry, record: Record) -> list[dict[str, Any]]:
    """The record's ancestors, nearest first: id, kind, step and where they came from (each ancestor's entry
    made once, shared by the rows of every record it is an ancestor of)."""
    return [ancestry.entry(ancestor, provenance_entry) for ancestor in ancestry.ancestors(record.id, record.parent_ids)]


def provenance_entry(ancestor: Ancestor) -> dict[str, Any]:
    entry = {"id": ancestor.id, "kind": ancestor.kind, "step": ancestor.step}
    entry.update({key: as_text(ancestor.meta.get(key)) or None for key in PROVENANCE_KEYS})
    # e.g. the prompt before it was rephrased, the profile's summary
    entry["text"] = ancestor.text if ancestor.kind in SHORT_TEXT_KINDS else None
    return entry


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


def record_rows(store: Store, pipeline: Pipeline, kind: str, recipe: Any = None) -> Iterator[dict[str, Any]]:
    """One row per kept record, read a batch at a time: the batch's ancestors and step histories in a few
    queries."""
    fields = meta_fields(kind, rubric_of(recipe))
    ancestry = provenance_reader(store)
    for batch in batches(kept_records(store, pipeline, kind)):
        ancestry.load(record.parent_ids for record in batch)
        steps_done = store.lookups.histories(record.id for record in batch)
        for record in batch:
            yield record_row(record, fields, provenance_chain(ancestry, record), steps_done[record.id])


def export_rows(store: Store, pipeline: Pipeline, what: str, recipe: Any = None,
                all_candidates: bool = False) -> Iterator[dict[str, Any]]:
    """The export's rows, each with exactly the columns and types of `export_schema(what, recipe)`.
    `all_candidates`: the `sft` export takes every kept candidate answer, not only each prompt's chosen one."""
    return conformed(raw_rows(store, pipeline, what, recipe, all_candidates), export_schema(what, recipe), what)


def raw_rows(store: Store, pipeline: Pipeline, what: str, recipe: Any = None,
             all_candidates: bool = False) -> Iterator[dict[str, Any]]:
    if what == "sft":
        return sft_rows(store, pipeline, recipe=recipe, all_candidates=all_candidates)
    if what in ROW_BUILDERS:
        return ROW_BUILDERS[what](store, pipeline, recipe=recipe)
    return record_rows(store, pipeline, KIND_OF_EXPORT[what], recipe)


def conformed(rows: Iterator[dict[str, Any]], schema: pa.Schema, what: str) -> Iterator[dict[str, Any]]:
    fields = row_converter(schema)
    for row in rows:
        try:
            yield fit_row(row, fields)
        except Misfit as misfit:
            where = f"{what} row {row.get('id')}"
            exc = DoesNotFit(where, misfit.problem if not misfit.where else f"{misfit.where}: {misfit.problem}")
            raise RowDoesNotFit(f"{exc} (`sftgen run` brings the store up to the recipe: e.g. it scores "
                                "answers again under a changed rubric)") from exc


def furthest_export(store: Store, pipeline: Pipeline) -> str:
    for what in reversed(EXPORT_ORDER):
        if what in ROW_BUILDERS or what != "sft":
            if next(iter(raw_rows(store, pipeline, what)), None) is not None:
                return what
    raise NothingToExport("nothing to export yet: no kept chunks, prompts or answers (run `sftgen run` first)")
