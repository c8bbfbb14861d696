"""Reads of many records at once (`store.lookups`): by id, their metas, their step histories, a few meta
values, and the answers a step made from many inputs. An export or a review queue asks for a batch of ids
in a few queries instead of one per id (at 20,000 rows that was most of an export's time)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sftgen.records import Record
from sftgen.store.db import Database, marks, row_to_record

IN_LIST = 500
"""Ids in one `IN (...)` (well under SQLite's variable limit)."""


def in_lists(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), IN_LIST):
        yield list(ids[start:start + IN_LIST])


class Lookups:
    def __init__(self, db: Database):
        self.conn = db.conn

    def records(self, ids: Iterable[str]) -> dict[str, Record]:
        """id -> record, for those of these ids that exist (`Store.get` for many ids)."""
        found: dict[str, Record] = {}
        for chunk in in_lists(list(dict.fromkeys(ids))):
            for row in self.conn.execute(f"SELECT * FROM records WHERE id IN ({marks(chunk)})", chunk):
                found[row["id"]] = row_to_record(row)
        return found

    def metas(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """id -> decoded meta of the records that exist, texts not read."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in in_lists(list(dict.fromkeys(ids))):
            for row in self.conn.execute(f"SELECT id, meta FROM records WHERE id IN ({marks(chunk)})", chunk):
                found[row[0]] = json.loads(row[1])
        return found

    def meta_values(self, ids: Iterable[str], key: str) -> dict[str, Any]:
        """id -> `meta[key]` of each of these records that exists (None where it has none), with its JSON type."""
        if not key.isidentifier():
            raise ValueError(f"a meta key to read must be a plain name: {key!r}")
        found: dict[str, Any] = {}
        for chunk in in_lists(list(dict.fromkeys(ids))):
            # Two paths: SQLite returns them as one JSON array, so the value keeps its JSON type.
            for item_id, values in self.conn.execute(
                    f"SELECT id, json_extract(meta, '$.{key}', '$.{key}') FROM records WHERE id IN ({marks(chunk)})",
                    chunk):
                found[item_id] = json.loads(values)[0]
        return found

    def histories(self, ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """What each step did with each of these items, oldest first (as `store.progress.history`, per item)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, list[dict[str, Any]]] = {item_id: [] for item_id in wanted}
        for chunk in in_lists(wanted):
            for row in self.conn.execute(
                    f"SELECT item_id, step, outcome, reason, done_at FROM progress WHERE item_id IN ({marks(chunk)}) "
                    "ORDER BY item_id, done_at, rowid", chunk):
                found[row[0]].append({"step": row[1], "outcome": row[2], "reason": row[3], "done_at": row[4]})
        return found

    def ancestor_rows(self, ids: Sequence[str], meta_keys: Sequence[str], text_kinds: Sequence[str]
                      ) -> Iterator[tuple[str, str, str, list[str], str | None, dict[str, Any]]]:
        """(id, kind, step, parent ids, text for `text_kinds` else None, {key: meta[key]}) of each of these
        records that exists."""
        if not all(key.isidentifier() for key in meta_keys):
            raise ValueError(f"meta keys to read must be plain names: {list(meta_keys)}")
        text_kinds = list(text_kinds)
        text = f"CASE WHEN kind IN ({marks(text_kinds)}) THEN text END" if text_kinds else "NULL"
        # The meta values as SQLite reads them where each is a string or absent; the whole meta decoded
        # where one is anything else (a number, an object: SQLite would not give it back as JSON does).
        # A meta SQLite cannot parse (Python's JSON writes Infinity and NaN) is decoded by Python.
        values = "".join(f", CASE WHEN json_valid(meta) THEN json_extract(meta, '$.{key}') END" for key in meta_keys)
        checks = " AND ".join(f"coalesce(json_type(meta, '$.{key}'), 'null') IN ('text', 'null')"
                              for key in meta_keys) or "1"
        plain = f"(CASE WHEN json_valid(meta) THEN ({checks}) ELSE 0 END)"
        for chunk in in_lists(ids):
            for row in self.conn.execute(
                    f"""SELECT id, kind, step, parent_ids, {text}, {plain}, CASE WHEN {plain} THEN NULL ELSE meta END
                        {values} FROM records WHERE id IN ({marks(chunk)})""",
                    [*text_kinds, *chunk]):
                if row[5]:
                    meta = {key: value for key, value in zip(meta_keys, row[7:])}
                else:
                    decoded = json.loads(row[6])
                    meta = {key: decoded.get(key) for key in meta_keys}
                yield row[0], row[1], row[2], json.loads(row[3]), row[4], meta

    def metas_made_from(self, step: str, source_ids: Sequence[str], kind: str) -> dict[str, list[dict[str, Any]]]:
        """source id -> the metas of the records of this kind `step` passes on now made from it (no texts read)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk in in_lists(source_ids):
            for source_id, meta in self.conn.execute(
                    f"""SELECT e.source_id, r.meta FROM emits e JOIN records r ON r.id = e.item_id
                        WHERE e.step = ? AND e.source_id IN ({marks(chunk)}) AND e.active = 1 AND r.kind = ?""",
                    (step, *chunk, kind)):
                found.setdefault(source_id, []).append(json.loads(meta))
        return found
