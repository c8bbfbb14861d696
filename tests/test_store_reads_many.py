"""Reads of many records at once give what the one-at-a-time reads give."""

from __future__ import annotations

from sftgen.records import Record, Status
from sftgen.store.results import ItemResult
from sftgen.store.store import Store

GRAPH = {"make": [], "search": ["make"]}


def seeded(tmp_path) -> tuple[Store, list[Record]]:
    store = Store(tmp_path / "store.db", GRAPH)
    queries = [Record(kind="query", text=f"query {n}") for n in range(3)]
    store.commit_batch("make", "s", [ItemResult("prompt", Status.KEPT, outputs=queries)])
    pages = {query.id: [query.child("document", f"page {n} of {query.text}") for n in range(3)] for query in queries}
    shared = queries[0].child("document", "a page two queries found")
    pages[queries[0].id].append(shared)
    pages[queries[2].id].insert(0, shared)
    pages[queries[1].id].append(Record(kind="note", text="not a page", parent_ids=[queries[1].id]))
    store.commit_batch("search", "s", [ItemResult(query.id, Status.KEPT, outputs=pages[query.id]) for query in queries])
    return store, queries


def test_get_many_gives_what_get_gives_for_each_id_and_leaves_out_unknown_ones(tmp_path):
    store, queries = seeded(tmp_path)
    ids = [query.id for query in queries] + ["no such record", queries[0].id]
    assert store.records.get_many(ids) == {query.id: store.get(query.id) for query in queries}
    assert store.records.get_many([]) == {}


def test_emitted_from_many_gives_each_source_its_records_in_emit_order(tmp_path):
    store, queries = seeded(tmp_path)
    sources = [query.id for query in queries] + ["never searched"]
    for kind in (None, "document"):
        assert store.emits.emitted_from_many("search", sources, kind) == {
            source: store.emits.emitted_from("search", source, kind) for source in sources}
    assert store.emits.emitted_from_many("no such step", sources) == {source: [] for source in sources}
