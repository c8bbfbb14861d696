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
from typing import NamedTuple

from sftgen.answers.upstream import require_processed_id
from sftgen.records import Record
from sftgen.store import Store
from sftgen.turns import TurnBatch

MAX_RECORDS = 4_000
MAX_CHARACTERS = 32_000_000
"""At most this much text held (long pages: fewer of them)."""


class EmittedRecords:
    def __init__(self, limit: int = MAX_RECORDS, characters: int = MAX_CHARACTERS):
        self.limit, self.characters = limit, characters
        self.held: OrderedDict[str, tuple[tuple, Record]] = OrderedDict()
        self.held_characters = 0

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
                        self.forget(record_id)
                        held[record_id] = (version, fresh[record_id])
                        self.held_characters += len(fresh[record_id].text)
                    elif record_id in stale:  # gone since (not while the loop reads): left out, as the store's read would
                        self.forget(record_id)
        found: dict[str, list[Record]] = {}
        for source_id, emitted in versions.items():
            records = found[source_id] = []
            for record_id, _ in emitted:
                known = held.get(record_id)
                if known is not None:
                    held.move_to_end(record_id)
                    records.append(known[1])
        while held and (len(held) > self.limit or self.held_characters > self.characters):
            self.forget(next(iter(held)))
        return found

    def forget(self, record_id: str) -> None:
        known = self.held.pop(record_id, None)
        if known is not None:
            self.held_characters -= len(known[1].text)


class PromptPages(NamedTuple):
    query_ids: list[str]
    """The prompt's queries, in emit order."""
    found: dict[str, list[Record]]
    """query id -> the pages the search found for it, in emit order."""


class PagesOfPrompts:
    """Each prompt's queries and their pages, the reads asked for in one turn of the event loop made together
    on the loop, in the next turn (four queries for the batch, not six per prompt). A prompt whose queries
    are not all searched (or whose queries were not made) waits: `pages` raises `UpstreamPending` for it."""

    def __init__(self, store: Store, queries_step: str, search_step: str):
        self.store, self.queries_step, self.search_step = store, queries_step, search_step
        self.records = EmittedRecords()
        self.reads: TurnBatch[Record, tuple[dict[str, tuple[str, str | None]], PromptPages]] = \
            TurnBatch(self.read_all, in_thread=False)

    async def pages(self, prompt: Record) -> PromptPages:
        outcomes, read = await self.reads.submit(prompt)
        store = self.store
        require_processed_id(store, self.queries_step, prompt.kind, prompt.id, outcomes.get(prompt.id))
        for query_id in read.query_ids:
            require_processed_id(store, self.search_step, "query", query_id, outcomes.get(query_id))
        return read

    def read_all(self, prompts: list[Record]) -> list[tuple[dict[str, tuple[str, str | None]], PromptPages]]:
        """Per prompt: the outcomes read (the queries step's on the prompts, the search's on their queries,
        in one dict: the ids are distinct records), and its queries' pages."""
        store, prompt_ids = self.store, [prompt.id for prompt in prompts]
        outcomes = store.progress.outcomes_of(self.queries_step, prompt_ids)
        queries_of = store.emits.emitted_versions_many(self.queries_step, prompt_ids, "query")
        query_ids = {prompt_id: [query_id for query_id, _ in queries_of[prompt_id]] for prompt_id in prompt_ids}
        every_query = [query_id for ids in query_ids.values() for query_id in ids]
        outcomes.update(store.progress.outcomes_of(self.search_step, every_query))
        found = self.records.emitted_from_many(store, self.search_step, every_query, "document")
        return [(outcomes, PromptPages(query_ids[prompt_id], {query_id: found[query_id] for query_id in query_ids[prompt_id]}))
                for prompt_id in prompt_ids]
