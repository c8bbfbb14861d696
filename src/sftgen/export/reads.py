"""The exports read their rows in batches: each batch's ancestors level by level, its metas and step
histories through `store.lookups` (a few queries per batch instead of one per ancestor per row)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from sftgen.store.lookups import Lookups

T = TypeVar("T")
BATCH = 256
"""Rows an export reads ahead: their ancestors and histories come in one query each."""
CACHE_LIMIT = 20_000
"""Ancestors remembered between batches (profiles, chunks and documents are shared by many rows); past
this many the memory is dropped, so a big export stays flat."""


def batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


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

    def __init__(self, lookups: Lookups, meta_keys: tuple[str, ...] = (),
                 text_kinds: tuple[str, ...] = ()):
        self.lookups = lookups
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
        for item_id, kind, step, parent_ids, text, meta in self.lookups.ancestor_rows(ids, self.meta_keys,
                                                                                     self.text_kinds):
            self.known[item_id] = Ancestor(item_id, kind, step, tuple(parent_ids), meta, text)
        for item_id in ids:
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
