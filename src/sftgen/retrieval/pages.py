"""The pages the search found for a prompt's queries, decoded once per run: in the answer half the same pages
come back for many prompts, and reading a page's record (its text and meta decompressed, its parents and meta
parsed) cost more than all the rest of the read. Each read asks the store which records are emitted, with
their stored rows as they are (`Emits.emitted_versions_many`), and decodes only those it has not seen in
that very form: a record changed since (its meta merged) is read again.

Bounded, least recently used out. Used from the event loop's thread only (the store's reads are).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from sftgen.records import Record
from sftgen.store import Store

MAX_RECORDS = 4_000


class EmittedRecords:
    def __init__(self, limit: int = MAX_RECORDS):
        self.limit = limit
        self.held: OrderedDict[str, tuple[tuple, Record]] = OrderedDict()

    def emitted_from_many(self, store: Store, step: str, source_ids: Sequence[str],
                          kind: str | None = None) -> dict[str, list[Record]]:
        """`store.emits.emitted_from_many(step, source_ids, kind)`, each record the same object for each
        source that emits it (callers read them, never change them)."""
        versions = store.emits.emitted_versions_many(step, source_ids, kind)
        held = self.held
        stale = {record_id for emitted in versions.values() for record_id, version in emitted
                 if (known := held.get(record_id)) is None or known[0] != version}
        if stale:
            fresh = store.records.get_many(stale)
            for emitted in versions.values():
                for record_id, version in emitted:
                    if record_id in fresh:
                        held[record_id] = (version, fresh[record_id])
                    elif record_id in stale:  # gone since (not while the loop reads): left out, as the store's read would
                        held.pop(record_id, None)
        found: dict[str, list[Record]] = {}
        for source_id, emitted in versions.items():
            records = found[source_id] = []
            for record_id, _ in emitted:
                known = held.get(record_id)
                if known is not None:
                    held.move_to_end(record_id)
                    records.append(known[1])
        while len(held) > self.limit:
            held.popitem(last=False)
        return found
