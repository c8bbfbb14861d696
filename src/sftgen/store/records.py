"""The `records` table (`record_rows`, its text in `texts`): every item with its text, provenance, meta and
status."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sftgen.records import Record, Status
from sftgen.store.db import RECORD_COLUMNS, RECORD_JOINS, Database, count_change, row_to_record
from sftgen.store.interning import intern, intern_text, name_id, texts_seen
from sftgen.store.meta_codec import meta_json


def numbers_json(numbers: list[int]) -> str:
    """The JSON list of a record's parent numbers, as `json.dumps(numbers, separators=(",", ":"))` writes it."""
    return "[" + ",".join(map(str, numbers)) + "]"


def merged_meta(meta: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any] | None:
    """The meta with the updates merged in (a None value removes the key); None when that changes nothing."""
    merged = {**meta, **{k: v for k, v in updates.items() if v is not None}}
    for key in [k for k, v in updates.items() if v is None]:
        merged.pop(key, None)
    return None if merged == meta else merged


class Records:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn
        self.metas = db.metas

    # ---- writing -------------------------------------------------------------------------------

    def insert(self, record: Record, now: float, memo: dict[str, int] | None = None) -> None:
        """Write a record; one of the same id keeps its text and takes this one's meta and status (and is not
        rewritten when they are the same: a page found again by another query). The caller moves the write
        counter (store/db.py count_change), as for Emits.replace and Progress.write."""
        n = intern(self.conn, record.id, memo)
        meta = meta_json(record.meta)
        held = self.conn.execute("SELECT meta, status, reason FROM record_rows WHERE n=?", (n,)).fetchone()
        if held is not None:
            if self.metas.text(held[0]) != meta or held[1] != record.status or held[2] != record.reason:
                self.conn.execute("UPDATE record_rows SET meta=?, status=?, reason=? WHERE n=?",
                                  (self.metas.stored_text(record.kind, meta), record.status, record.reason, n))
            return
        self.conn.execute(
            """INSERT INTO record_rows (n, kind, step, text, parents, meta, origin, status, reason, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?)""",
            (
                n, record.kind, record.step,
                intern_text(self.conn, record.text, lambda text: self.db.texts.stored(record.kind, text)),
                numbers_json([intern(self.conn, parent, memo) for parent in record.parent_ids]),
                self.metas.stored_text(record.kind, meta), record.origin, record.status, record.reason, now,
            ),
        )

    def put(self, records: Iterable[Record]) -> None:
        now = time.time()
        with self.db.transaction():
            for record in records:
                self.insert(record, now)
            count_change(self.conn)

    def mark(self, record_id: str, status: Status, reason: str | None, step: str) -> None:
        """A step's verdict on a record it consumed: dropped by it (with the reason), or kept again, which
        undoes only a drop by the same step."""
        n = name_id(self.conn, record_id)
        if n is None:
            return
        if status == Status.DROPPED:
            self.conn.execute("UPDATE record_rows SET status=?, reason=?, dropped_by=? WHERE n=?",
                              (Status.DROPPED, reason, step, n))
        elif status == Status.KEPT:
            self.conn.execute("UPDATE record_rows SET status=?, reason=NULL, dropped_by=NULL WHERE n=? AND dropped_by=?",
                              (Status.KEPT, n, step))

    def merge_meta(self, record_id: str, updates: dict[str, Any]) -> None:
        """Merge into the record's meta (a None value removes the key); inside the caller's transaction."""
        n = name_id(self.conn, record_id)
        row = None if n is None else self.conn.execute("SELECT meta, kind FROM record_rows WHERE n=?", (n,)).fetchone()
        if row is None:
            return
        merged = merged_meta(self.metas.decoded(row["meta"]), updates)
        if merged is not None:
            self.conn.execute("UPDATE record_rows SET meta=? WHERE n=?", (self.metas.stored(row["kind"], merged), n))

    def merge_metas(self, updates: list[tuple[int, dict[str, Any]]]) -> None:
        """`merge_meta` for several records by number, each once: their metas read in one query, written with
        one statement, their stored forms made in the order given (as many `merge_meta`s make them)."""
        if not updates:
            return
        held = {n: (meta, kind) for n, meta, kind in self.conn.execute(
            "SELECT n, meta, kind FROM record_rows WHERE n IN (SELECT value FROM json_each(?))",
            (numbers_json([n for n, _ in updates]),))}
        rows = []
        for n, changes in updates:
            if n not in held:
                continue
            stored, kind = held[n]
            merged = merged_meta(self.metas.decoded(stored), changes)
            if merged is not None:
                rows.append((self.metas.stored(kind, merged), n))
        if rows:
            self.conn.executemany("UPDATE record_rows SET meta=? WHERE n=?", rows)

    def set_meta(self, record_id: str, updates: dict[str, Any]) -> None:
        record = self.get(record_id)
        if record is None:
            raise KeyError(record_id)
        record.meta.update(updates)
        with self.db.transaction():
            self.conn.execute("UPDATE record_rows SET meta=? WHERE n=?",
                              (self.metas.stored(record.kind, record.meta),
                               name_id(self.conn, record_id)))

    # ---- reading -------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        n = name_id(self.conn, record_id)  # remembered by the connection once seen
        if n is None:
            return None
        row = self.conn.execute(f"SELECT {RECORD_COLUMNS} FROM record_rows r {RECORD_JOINS} WHERE r.n=?", (n,)).fetchone()
        return row_to_record(row) if row else None

    def get_many(self, record_ids: Iterable[str]) -> dict[str, Record]:
        """id -> record, of those the store has, in one query."""
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return {}
        rows = self.conn.execute(
            f"SELECT {RECORD_COLUMNS}, t.hash AS text_hash, t.n AS text_n FROM names i JOIN record_rows r ON r.n = i.n "
            "JOIN texts t ON t.n = r.text WHERE i.name IN (SELECT value FROM json_each(?))",
            (json.dumps(ids, ensure_ascii=False),)).fetchall()
        if (seen := texts_seen(self.conn)) is not None:  # requests quote them (store/request_texts.py)
            seen.saw(self.conn, ((row["text_hash"], row["text_n"]) for row in rows))
        return {record.id: record for record in map(row_to_record, rows)}

    def texts(self, record_ids: Iterable[str]) -> dict[str, str]:
        """id -> text, of those the store has, in one query: `get_many` without their metas and parent ids,
        for a reader that needs only the texts (answer_eval's prompt and passages)."""
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return {}
        return dict(self.conn.execute(
            "SELECT i.name, text_of(t.text) FROM names i JOIN record_rows r ON r.n = i.n JOIN texts t ON t.n = r.text "
            "WHERE i.name IN (SELECT value FROM json_each(?))", (json.dumps(ids, ensure_ascii=False),)))

    def meta_of(self, record_id: str) -> dict[str, Any] | None:
        """The record's meta, its text and parents not read; None when the store has no such record."""
        n = name_id(self.conn, record_id)
        row = None if n is None else self.conn.execute("SELECT meta FROM record_rows WHERE n=?", (n,)).fetchone()
        return None if row is None else self.metas.decoded(row[0])

    def of_kind(self, kind: str) -> Iterator[Record]:
        for row in self.conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM record_rows r {RECORD_JOINS} WHERE r.kind=? ORDER BY r.created_at, i.name",
                (kind,)):
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
        for row in self.conn.execute("SELECT kind, status, COUNT(*) AS n FROM record_rows GROUP BY kind, status"):
            counts.setdefault(row["kind"], {})[row["status"]] = row["n"]
        return counts

    def meta_objects(self, kind: str, key: str) -> Iterator[dict[str, Any]]:
        """`meta[key]` of every record of this kind where it is an object, in record order, without reading
        their texts (status's judge health reads the answers' scores this way)."""
        for (stored,) in self.conn.execute(
                "SELECT r.meta FROM record_rows r JOIN names i ON i.n = r.n WHERE r.kind=? ORDER BY r.created_at, i.name",
                (kind,)):
            value = self.metas.decoded(stored).get(key)
            if isinstance(value, dict):
                yield value

    def kept_metas(self, kind: str) -> Iterator[dict[str, Any]]:
        """The meta of every kept record of this kind, without loading their texts."""
        for row in self.conn.execute("SELECT meta FROM record_rows WHERE kind=? AND status=?", (kind, Status.KEPT)):
            yield self.metas.decoded(row["meta"])
