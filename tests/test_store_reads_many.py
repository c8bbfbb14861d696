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


def test_texts_gives_the_text_get_many_gives_for_each_id_and_leaves_out_unknown_ones(tmp_path):
    store, queries = seeded(tmp_path)
    ids = [query.id for query in queries] + ["no such record", queries[0].id]
    assert store.records.texts(ids) == {record_id: record.text for record_id, record in store.records.get_many(ids).items()}
    assert store.records.texts([]) == {}


def test_meta_of_gives_the_records_meta_or_none(tmp_path):
    store, queries = seeded(tmp_path)
    store.set_meta(queries[1].id, {"scores": {"style": {"score": 4, "why": "clear"}}, "score_mean": 4.0})
    for query in queries:
        assert store.records.meta_of(query.id) == store.get(query.id).meta
    assert store.records.meta_of(queries[1].id)["score_mean"] == 4.0
    assert store.records.meta_of("no such record") is None


def test_emitted_texts_from_gives_the_id_text_and_meta_of_what_emitted_from_gives(tmp_path):
    store, queries = seeded(tmp_path)
    page = store.emits.emitted_from("search", queries[0].id, "document")[1]
    store.set_meta(page.id, {"title": "Page", "rank": 2})
    for source in [query.id for query in queries] + ["never searched"]:
        for kind in ("document", "note"):
            assert store.emits.emitted_texts_from("search", source, kind) == [
                (record.id, record.text, record.meta) for record in store.emits.emitted_from("search", source, kind)]
    assert (page.id, page.text, {"title": "Page", "rank": 2}) in store.emits.emitted_texts_from(
        "search", queries[0].id, "document")
    assert store.emits.emitted_texts_from("no such step", queries[0].id, "document") == []


def test_emitted_texts_from_many_gives_each_source_what_emitted_texts_from_gives(tmp_path):
    store, queries = seeded(tmp_path)
    page = store.emits.emitted_from("search", queries[2].id, "document")[0]
    store.set_meta(page.id, {"title": "Shared", "rank": 1})
    sources = [query.id for query in queries] + ["never searched"]
    for kind in ("document", "note"):
        assert store.emits.emitted_texts_from_many("search", sources, kind) == {
            source: store.emits.emitted_texts_from("search", source, kind) for source in sources}
    nothing = {source: [] for source in sources}
    assert store.emits.emitted_texts_from_many("no such step", sources, "document") == nothing
    assert store.emits.emitted_texts_from_many("search", [], "document") == {}
    found = store.emits.emitted_texts_from_many("search", sources, "document")
    shared = [text for source in (queries[0].id, queries[2].id) for _, text, _ in found[source]
              if text == "a page two queries found"]
    assert len(shared) == 2 and shared[0] is shared[1]  # a text two sources share is read once
