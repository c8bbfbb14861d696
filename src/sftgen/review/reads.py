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

IN_LIST = 500


def queue_keys(kind: str, policy: str) -> tuple[str, ...]:
    """The meta values the queue reads of each item of this kind under this review policy (decisions/policy.py
    `in_queue`, review/queue.py): `scores` is read as well where the policy is `uncertain`."""
    keys = ("subdomain",) if kind == "prompt" else ("candidate_index", "prompt_id", "subdomain")
    return keys + ("needs_review",) if policy == "uncertain" else keys


def emitted_for_queue(conn: sqlite3.Connection, steps: Sequence[str], kind: str, policy: str) -> Iterator[Record]:
    """As `store.emitted(steps, kind=kind)`, each record with an empty text, no parents and only the meta
    values of `queue_keys` that are not null (and `scores`, under the `uncertain` policy, where it is an object)."""
    keys = queue_keys(kind, policy)
    extracts = ", ".join(f"json_extract(r.meta, '$.{key}')" for key in keys)
    scores = ("CASE WHEN json_type(r.meta, '$.scores') = 'object' THEN json_extract(r.meta, '$.scores') END"
              if policy == "uncertain" else "NULL")
    query = f"""SELECT MIN(e.seq) AS seq, r.id, r.kind, r.step, r.status, r.reason, {scores}, {extracts}
                FROM emits e JOIN records r ON r.id = e.item_id
                WHERE e.step IN ({marks(steps)}) AND e.active = 1 AND r.kind = ?
                GROUP BY e.item_id ORDER BY seq"""
    for row in conn.execute(query, (*steps, kind)):
        meta: dict[str, Any] = {key: value for key, value in zip(keys, row[7:]) if value is not None}
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
