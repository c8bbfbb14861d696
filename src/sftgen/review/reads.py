"""Lean reads for the review app's queue: what deciding an item's place and state needs (id, status, a few
meta values), without decoding every record's whole meta or reading its text; the texts are read when an
item is shown.

Plain SQL against the store's `records` and `emits` tables (`store.conn`); meant to move into the store
(store/lineage.py, store/records.py) when its rework lands.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sftgen.records import Record, Status
from sftgen.store.db import marks, row_to_record

QUEUE_KEYS = ("candidate_index", "prompt_id", "subdomain", "needs_review")
"""The meta values the queue reads of each item (decisions/policy.py, review/queue.py)."""
IN_LIST = 500


def emitted_for_queue(conn: sqlite3.Connection, steps: Sequence[str], kind: str,
                      with_scores: bool) -> Iterator[Record]:
    """As `store.emitted(steps, kind=kind)`, each record with an empty text, no parents and only the meta
    values in QUEUE_KEYS (and `scores`, when `with_scores` and it is an object) that are not null."""
    extracts = ", ".join(f"json_extract(r.meta, '$.{key}')" for key in QUEUE_KEYS)
    scores = ("CASE WHEN json_type(r.meta, '$.scores') = 'object' THEN json_extract(r.meta, '$.scores') END"
              if with_scores else "NULL")
    query = f"""SELECT MIN(e.seq) AS seq, r.id, r.kind, r.step, r.status, r.reason, {scores}, {extracts}
                FROM emits e JOIN records r ON r.id = e.item_id
                WHERE e.step IN ({marks(steps)}) AND e.active = 1 AND r.kind = ?
                GROUP BY e.item_id ORDER BY seq"""
    for row in conn.execute(query, (*steps, kind)):
        meta: dict[str, Any] = {key: value for key, value in zip(QUEUE_KEYS, row[7:]) if value is not None}
        if row[6] is not None:
            meta["scores"] = json.loads(row[6])
        yield Record(id=row[1], kind=row[2], step=row[3], text="", meta=meta, status=Status(row[4]), reason=row[5])


def subdomains_of(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Any]:
    """id -> meta `subdomain` of each of these records that exists (None where it has none)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), IN_LIST):
        chunk = wanted[start:start + IN_LIST]
        for item_id, subdomain in conn.execute(
                f"SELECT id, json_extract(meta, '$.subdomain') FROM records WHERE id IN ({marks(chunk)})", chunk):
            found[item_id] = subdomain
    return found


def records_by_id(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Record]:
    """id -> the whole record, for those of these ids that exist."""
    found: dict[str, Record] = {}
    for start in range(0, len(ids), IN_LIST):
        chunk = list(ids[start:start + IN_LIST])
        for row in conn.execute(f"SELECT * FROM records WHERE id IN ({marks(chunk)})", chunk):
            found[row["id"]] = row_to_record(row)
    return found
