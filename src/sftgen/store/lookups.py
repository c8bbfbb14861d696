"""Reads of many records at once (`store.lookups`): by id, their metas, their step histories, a few meta
values, and the answers a step made from many inputs. An export or a review queue asks for a batch of ids
in a few queries instead of one per id (at 20,000 rows that was most of an export's time)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sftgen.records import Record
from sftgen.store.db import DONE_STEPS, Database, marks, row_to_record

IN_LIST = 500
"""Ids in one `IN (...)` (well under SQLite's variable limit)."""


def in_lists(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), IN_LIST):
        yield list(ids[start:start + IN_LIST])


class Lookups:
    def __init__(self, db: Database):
        self.conn = db.conn
        self.metas_codec = db.metas

    def records(self, ids: Iterable[str]) -> dict[str, Record]:
        """id -> record, for those of these ids that exist (`Store.get` for many ids)."""
        found: dict[str, Record] = {}
        for chunk in in_lists(list(dict.fromkeys(ids))):
            for row in self.conn.execute(
                    f"""SELECT id, kind, step, text_of(text) AS text, parent_ids, meta_text(meta) AS meta, origin, status, reason
                        FROM records WHERE id IN ({marks(chunk)})""", chunk):
                found[row["id"]] = row_to_record(row)
        return found

    def metas(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """id -> decoded meta of the records that exist, texts not read."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in in_lists(list(dict.fromkeys(ids))):
            for row in self.conn.execute(f"SELECT id, meta FROM records WHERE id IN ({marks(chunk)})", chunk):
                found[row[0]] = self.metas_codec.decoded(row[1])
        return found

    def meta_values(self, ids: Iterable[str], key: str) -> dict[str, Any]:
        """id -> `meta[key]` of each of these records that exists (None where it has none)."""
        if not key.isidentifier():
            raise ValueError(f"a meta key to read must be a plain name: {key!r}")
        return {item_id: meta.get(key) for item_id, meta in self.metas(ids).items()}

    def histories(self, ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """What each step did with each of these items, oldest first (as `store.progress.history`, per item)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, list[dict[str, Any]]] = {item_id: [] for item_id in wanted}
        for chunk in in_lists(wanted):
            for row in self.conn.execute(
                    f"""WITH RECURSIVE {DONE_STEPS}
                        SELECT i.name, s.name, p.outcome, p.reason, p.done_at
                        FROM names i CROSS JOIN progress_rows p ON p.step IN (SELECT step FROM done_steps) AND p.item = i.n
                        JOIN names s ON s.n = p.step
                        WHERE i.name IN ({marks(chunk)}) ORDER BY i.name, p.done_at, s.name""", chunk):
                found[row[0]].append({"step": row[1], "outcome": row[2], "reason": row[3], "done_at": row[4]})
        return found

    def ancestor_rows(self, ids: Sequence[str], meta_keys: Sequence[str], text_kinds: Sequence[str]
                      ) -> Iterator[tuple[str, str, str, list[str], str | None, dict[str, Any]]]:
        """(id, kind, step, parent ids, text for `text_kinds` else None, {key: meta[key]}) of each of these
        records that exists."""
        if not all(key.isidentifier() for key in meta_keys):
            raise ValueError(f"meta keys to read must be plain names: {list(meta_keys)}")
        text_kinds = list(text_kinds)
        text = f"CASE WHEN kind IN ({marks(text_kinds)}) THEN text_of(text) END" if text_kinds else "NULL"
        for chunk in in_lists(ids):
            for row in self.conn.execute(
                    f"SELECT id, kind, step, parent_ids, {text}, meta FROM records WHERE id IN ({marks(chunk)})",
                    [*text_kinds, *chunk]):
                decoded = self.metas_codec.decoded(row[5])
                yield row[0], row[1], row[2], json.loads(row[3]), row[4], {key: decoded.get(key) for key in meta_keys}

    def metas_made_from(self, step: str, source_ids: Sequence[str], kind: str) -> dict[str, list[dict[str, Any]]]:
        """source id -> the metas of the records of this kind `step` passes on now made from it (no texts read)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk in in_lists(source_ids):
            for source_id, meta in self.conn.execute(
                    f"""SELECT e.source_id, meta_text(r.meta) FROM emits e JOIN records r ON r.id = e.item_id
                        WHERE e.step = ? AND e.source_id IN ({marks(chunk)}) AND e.active = 1 AND r.kind = ?""",
                    (step, *chunk, kind)):
                found.setdefault(source_id, []).append(json.loads(meta))
        return found
