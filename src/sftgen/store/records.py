"""The `records` table: every item with its text, provenance, meta and status."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sftgen.records import Record, Status
from sftgen.store.db import Database, row_to_record


def meta_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, ensure_ascii=False, default=str)


class Records:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn

    # ---- writing -------------------------------------------------------------------------------

    def insert(self, record: Record, now: float) -> None:
        """Write a record; one of the same id keeps its text and takes this one's meta and status (and is not
        rewritten when they are the same: a page found again by another query)."""
        self.conn.execute(
            """INSERT INTO records (id, kind, step, text, parent_ids, meta, origin, status, reason, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET meta=excluded.meta, status=excluded.status, reason=excluded.reason
               WHERE meta IS NOT excluded.meta OR status IS NOT excluded.status OR reason IS NOT excluded.reason""",
            (
                record.id, record.kind, record.step, record.text, json.dumps(record.parent_ids),
                meta_json(record.meta), record.origin, record.status, record.reason, now,
            ),
        )

    def put(self, records: Iterable[Record]) -> None:
        now = time.time()
        with self.db.transaction():
            for record in records:
                self.insert(record, now)

    def mark(self, record_id: str, status: Status, reason: str | None, step: str) -> None:
        """A step's verdict on a record it consumed: dropped by it (with the reason), or kept again, which
        undoes only a drop by the same step."""
        if status == Status.DROPPED:
            self.conn.execute("UPDATE records SET status=?, reason=?, dropped_by=? WHERE id=?",
                              (Status.DROPPED, reason, step, record_id))
        elif status == Status.KEPT:
            self.conn.execute("UPDATE records SET status=?, reason=NULL, dropped_by=NULL WHERE id=? AND dropped_by=?",
                              (Status.KEPT, record_id, step))

    def merge_meta(self, record_id: str, updates: dict[str, Any]) -> None:
        """Merge into the record's meta (a None value removes the key); inside the caller's transaction."""
        row = self.conn.execute("SELECT meta FROM records WHERE id=?", (record_id,)).fetchone()
        if row is None:
            return
        meta = json.loads(row["meta"])
        merged = {**meta, **{k: v for k, v in updates.items() if v is not None}}
        for key in [k for k, v in updates.items() if v is None]:
            merged.pop(key, None)
        if merged != meta:
            self.conn.execute("UPDATE records SET meta=? WHERE id=?", (meta_json(merged), record_id))

    def set_meta(self, record_id: str, updates: dict[str, Any]) -> None:
        record = self.get(record_id)
        if record is None:
            raise KeyError(record_id)
        record.meta.update(updates)
        with self.db.transaction():
            self.conn.execute("UPDATE records SET meta=? WHERE id=?", (json.dumps(record.meta, default=str), record_id))

    # ---- reading -------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        row = self.conn.execute("SELECT * FROM records WHERE id=?", (record_id,)).fetchone()
        return row_to_record(row) if row else None

    def of_kind(self, kind: str) -> Iterator[Record]:
        for row in self.conn.execute("SELECT * FROM records WHERE kind=? ORDER BY created_at, id", (kind,)):
            yield row_to_record(row)

    def ancestry(self, record_id: str) -> list[Record]:
        """The record and all its ancestors, nearest first."""
        seen: dict[str, Record] = {}
        frontier = [record_id]
        while frontier:
            current = frontier.pop(0)
            if current in seen:
                continue
            record = self.get(current)
            if record is None:
                continue
            seen[current] = record
            frontier.extend(record.parent_ids)
        return list(seen.values())

    def counts(self) -> dict[str, dict[str, int]]:
        """kind -> status -> how many records."""
        counts: dict[str, dict[str, int]] = {}
        for row in self.conn.execute("SELECT kind, status, COUNT(*) AS n FROM records GROUP BY kind, status"):
            counts.setdefault(row["kind"], {})[row["status"]] = row["n"]
        return counts

    def meta_objects(self, kind: str, key: str) -> Iterator[dict[str, Any]]:
        """`meta[key]` of every record of this kind where it is an object, in record order, decoding nothing
        else (status's judge health reads the answers' scores this way)."""
        path = f"$.{key}"
        for (value,) in self.conn.execute(
                "SELECT json_extract(meta, ?) FROM records WHERE kind=? AND json_type(meta, ?) = 'object' "
                "ORDER BY created_at, id", (path, kind, path)):
            yield json.loads(value)

    def kept_metas(self, kind: str) -> Iterator[dict[str, Any]]:
        """The meta of every kept record of this kind, without loading their texts."""
        for row in self.conn.execute("SELECT meta FROM records WHERE kind=? AND status=?", (kind, Status.KEPT)):
            yield json.loads(row["meta"] or "{}")
