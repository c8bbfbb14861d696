"""Reads for the review app's lean queue (its items read with `Emits.emitted_without_text(..., keys=...)`):
the subdomains of the answers' prompts in one go, and the whole records of the item shown.

Plain SQL against the store's `records` and `emits` tables (`store.conn`); meant to move into the store
(store/lineage.py, store/records.py) when its rework lands.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sftgen.records import Record
from sftgen.store.db import marks, row_to_record

IN_LIST = 500


def subdomains_of(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Any]:
    """id -> meta `subdomain` of each of these records that exists (None where it has none)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), IN_LIST):
        chunk = wanted[start:start + IN_LIST]
        # Two paths: SQLite returns them as one JSON array, so the value keeps its JSON type.
        for item_id, values in conn.execute(
                f"SELECT id, json_extract(meta, '$.subdomain', '$.subdomain') FROM records WHERE id IN ({marks(chunk)})",
                chunk):
            found[item_id] = json.loads(values)[0]
    return found


def records_by_id(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Record]:
    """id -> the whole record, for those of these ids that exist."""
    found: dict[str, Record] = {}
    for start in range(0, len(ids), IN_LIST):
        chunk = list(ids[start:start + IN_LIST])
        for row in conn.execute(f"SELECT * FROM records WHERE id IN ({marks(chunk)})", chunk):
            found[row["id"]] = row_to_record(row)
    return found
