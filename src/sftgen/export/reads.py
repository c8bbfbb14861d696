"""Batched reads for the exports: the ancestors, metas and step histories of many records in a few queries
instead of one query per ancestor per row (at 20,000 rows that was most of an export's time).

Plain SQL against the store's `records` and `progress` tables (`store.conn`); meant to move into the store
(store/records.py, store/progress.py) when its rework lands.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from sftgen.records import Record
from sftgen.store.db import marks, row_to_record

T = TypeVar("T")
BATCH = 256
"""Rows an export reads ahead: their ancestors and histories come in one query each."""
IN_LIST = 500
"""Ids in one `IN (...)` (well under SQLite's variable limit)."""
CACHE_LIMIT = 20_000
"""Ancestors remembered between batches (profiles, chunks and documents are shared by many rows); past
this many the memory is dropped, so a big export stays flat."""


def batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def in_lists(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), IN_LIST):
        yield ids[start:start + IN_LIST]


def records_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Record]:
    """id -> record, for those of these ids that exist (`Store.get` for many ids)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Record] = {}
    for chunk in in_lists(wanted):
        for row in conn.execute(f"SELECT * FROM records WHERE id IN ({marks(chunk)})", chunk):
            found[row["id"]] = row_to_record(row)
    return found


def metas_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """id -> decoded meta of the records that exist, texts not read."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, dict[str, Any]] = {}
    for chunk in in_lists(wanted):
        for row in conn.execute(f"SELECT id, meta FROM records WHERE id IN ({marks(chunk)})", chunk):
            found[row[0]] = json.loads(row[1])
    return found


def histories(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """What each step did with each of these items, oldest first (as `store.progress.history`, per item)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, list[dict[str, Any]]] = {item_id: [] for item_id in wanted}
    for chunk in in_lists(wanted):
        for row in conn.execute(
                f"SELECT item_id, step, outcome, reason, done_at FROM progress WHERE item_id IN ({marks(chunk)}) "
                "ORDER BY item_id, done_at, rowid", chunk):
            found[row[0]].append({"step": row[1], "outcome": row[2], "reason": row[3], "done_at": row[4]})
    return found


@dataclass(frozen=True)
class Ancestor:
    """What an export says of an ancestor: id, kind, step, parents, a few meta values and (for short-text
    kinds) the text."""

    id: str
    kind: str
    step: str
    parent_ids: tuple[str, ...]
    meta: dict[str, Any]
    text: str | None


class Ancestry:
    """Ancestors of the records of an export, read level by level for a whole batch of rows at a time.

    `meta_keys`: the meta values kept per ancestor; `text_kinds`: the kinds whose text is read."""

    def __init__(self, conn: sqlite3.Connection, meta_keys: tuple[str, ...] = (),
                 text_kinds: tuple[str, ...] = ()):
        self.conn = conn
        self.meta_keys = meta_keys
        self.text_kinds = text_kinds
        self.known: dict[str, Ancestor | None] = {}
        """id -> the ancestor, or None for an id with no record."""
        self.entries: dict[str, Any] = {}
        """id -> what `entry` made of the ancestor."""

    def load(self, parent_lists: Iterable[Iterable[str]]) -> None:
        """Read every ancestor of records with these parents (each level in one query per IN_LIST ids)."""
        if len(self.known) > CACHE_LIMIT:
            self.known.clear()
            self.entries.clear()
        frontier = {parent for parents in parent_lists for parent in parents if parent not in self.known}
        while frontier:
            self.fetch(sorted(frontier))
            frontier = {parent for item_id in frontier if (ancestor := self.known.get(item_id)) is not None
                        for parent in ancestor.parent_ids if parent not in self.known}

    def fetch(self, ids: list[str]) -> None:
        text_kinds = list(self.text_kinds)
        text = f"CASE WHEN kind IN ({marks(text_kinds)}) THEN text END" if text_kinds else "NULL"
        # The meta values as SQLite reads them where each is a string or absent; the whole meta decoded
        # where one is anything else (a number, an object: SQLite would not give it back as JSON does).
        values = "".join(f", json_extract(meta, '$.{key}')" for key in self.meta_keys)
        plain = " AND ".join(f"coalesce(json_type(meta, '$.{key}'), 'null') IN ('text', 'null')"
                             for key in self.meta_keys) or "1"
        for chunk in in_lists(ids):
            for row in self.conn.execute(
                    f"""SELECT id, kind, step, parent_ids, {text}, {plain}, CASE WHEN {plain} THEN NULL ELSE meta END
                        {values} FROM records WHERE id IN ({marks(chunk)})""",
                    [*text_kinds, *chunk]):
                if row[5]:
                    meta = {key: value for key, value in zip(self.meta_keys, row[7:])}
                else:
                    decoded = json.loads(row[6])
                    meta = {key: decoded.get(key) for key in self.meta_keys}
                self.known[row[0]] = Ancestor(row[0], row[1], row[2], tuple(json.loads(row[3])), meta, row[4])
            for item_id in chunk:
                self.known.setdefault(item_id, None)

    def entry(self, ancestor: Ancestor, make: Callable[[Ancestor], Any]) -> Any:
        """`make(ancestor)`, made once per ancestor (the rows of an export share what it makes)."""
        made = self.entries.get(ancestor.id)
        if made is None:
            made = self.entries[ancestor.id] = make(ancestor)
        return made

    def ancestors(self, record_id: str, parent_ids: Iterable[str]) -> list[Ancestor]:
        """A record's ancestors, nearest first, in the order `Store.lineage` walks them (breadth first,
        parents in order, each once, never the record itself), given its parents; `load` must have read them."""
        seen: dict[str, Ancestor | None] = {record_id: None}
        frontier = list(parent_ids)
        position = 0
        while position < len(frontier):
            current = frontier[position]
            position += 1
            if current in seen:
                continue
            ancestor = self.known.get(current)
            if ancestor is None:
                continue
            seen[current] = ancestor
            frontier.extend(ancestor.parent_ids)
        return [ancestor for ancestor in seen.values() if ancestor is not None]
