"""The numbers of the texts a cached request quotes come from what the store's connection read already (the
step's inputs, the texts found for earlier requests), not from a query per request; only committed
numbers are remembered, and gc forgets them when it deletes texts."""

from __future__ import annotations

import json

from sftgen.llm.fencing import fence
from sftgen.records import Record, Status
from sftgen.store import Store
from sftgen.store.interning import text_hash, texts_seen
from sftgen.store.llm_cache import ZSTD_WITH_TEXTS
from sftgen.store.results import ItemResult

GRAPH = {"seed": [], "ask": ["seed"]}
TEXT = ("Quarks carry colour charge and are confined in hadrons; the strong force between them grows with "
        "distance, so a free quark is never seen. Number {i}.")


def request(text: str) -> bytes:
    body = {"model": "m", "messages": [{"role": "user", "content": "Judge this:\n" + fence(text, "QUESTION")}]}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def seeded(tmp_path, count: int = 3, kind: str = "prompt") -> tuple[Store, list[Record]]:
    store = Store(tmp_path / "store.db", GRAPH)
    records = [Record(kind=kind, text=TEXT.format(i=i), meta={}) for i in range(count)]
    store.commit_batch("seed", "s", [ItemResult(item_id=r.id, outcome=Status.KEPT, outputs=[r]) for r in records])
    return store, records


def text_lookups(store: Store) -> list[str]:
    seen: list[str] = []
    store.conn.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith("SELECT hash, n FROM texts") else None)
    return seen


def test_the_requests_about_a_steps_inputs_refer_to_their_texts_without_a_lookup_each(tmp_path):
    store, records = seeded(tmp_path)
    try:
        inputs = [record for _, record in store.pending_inputs("ask", ["seed"], "s")]
        assert [record.id for record in inputs] == [record.id for record in records]
        lookups = text_lookups(store)
        for i, record in enumerate(inputs):
            store.cache_put(f"k{i}", "m", request(record.text), {"choices": [{"message": {"content": "ok"}}]}, {})
        assert lookups == []
        for i, record in enumerate(inputs):
            stored = store.conn.execute("SELECT request FROM llm_cache WHERE key=?", (f"k{i}",)).fetchone()[0]
            assert stored[:1] == ZSTD_WITH_TEXTS
            assert store.cache_entry(f"k{i}")["request"] == json.loads(request(record.text))
    finally:
        store.close()


def test_a_text_found_for_one_request_is_not_looked_up_again(tmp_path):
    store, records = seeded(tmp_path, 1)
    try:
        lookups = text_lookups(store)
        store.cache_put("k1", "m", request(records[0].text), {"choices": []}, {})
        store.cache_put("k2", "m", request(records[0].text) + b" ", {"choices": []}, {})
        assert len(lookups) == 1
        assert store.cache_entry("k2")["request"] == json.loads(request(records[0].text))
    finally:
        store.close()


def test_numbers_read_inside_a_transaction_are_not_remembered(tmp_path):
    store, records = seeded(tmp_path, 1)
    try:
        with store.transaction():  # what is read here may be gone if it rolls back
            store.pending_inputs("ask", ["seed"], "s")
            store.cache_put("k1", "m", request(records[0].text), {"choices": []}, {})
        assert texts_seen(store.conn).get(text_hash(records[0].text)) is None
        store.pending_inputs("ask", ["seed"], "s")
        assert texts_seen(store.conn).get(text_hash(records[0].text)) is not None
    finally:
        store.close()


def test_the_numbers_remembered_are_bounded(tmp_path):
    store, _ = seeded(tmp_path, 1)
    try:
        seen = texts_seen(store.conn)
        seen.remember((bytes([i % 256, i // 256]) * 8, i) for i in range(seen.HELD + 10))
        assert len(seen.numbers) == seen.HELD
        assert seen.get(bytes([0, 0]) * 8) is None  # the oldest went first
        assert seen.get(bytes([(seen.HELD + 9) % 256, (seen.HELD + 9) // 256]) * 8) == seen.HELD + 9
    finally:
        store.close()


def test_gc_forgets_the_numbers_when_it_deletes_texts_and_a_later_request_keeps_its_text(tmp_path):
    from sftgen.store.gc import collect

    store, records = seeded(tmp_path, 1, kind="query")  # a kind gc drops once withdrawn
    try:
        store.pending_inputs("ask", ["seed"], "s")
        assert texts_seen(store.conn).get(text_hash(records[0].text)) is not None
        with store.transaction():  # the record no longer passed on: gc drops it and its text
            store.conn.execute("UPDATE emit_rows SET active = 0")
        assert collect(store.db, apply=True).garbage.record_ids == [records[0].id]
        assert store.conn.execute("SELECT COUNT(*) FROM texts WHERE hash=?", (text_hash(records[0].text),)).fetchone()[0] == 0
        assert texts_seen(store.conn).get(text_hash(records[0].text)) is None
        store.cache_put("k1", "m", request(records[0].text), {"choices": []}, {})
        stored = store.conn.execute("SELECT request FROM llm_cache WHERE key='k1'").fetchone()[0]
        assert stored[:1] != ZSTD_WITH_TEXTS  # no reference to a text the store no longer has
        assert store.cache_entry("k1")["request"] == json.loads(request(records[0].text))
    finally:
        store.close()


def test_the_records_read_together_give_their_text_numbers_too(tmp_path):
    store, records = seeded(tmp_path, 2)
    try:
        assert set(store.records.get_many([record.id for record in records])) == {record.id for record in records}
        lookups = text_lookups(store)
        store.cache_put("k1", "m", request(records[1].text), {"choices": []}, {})
        assert lookups == []
        assert store.cache_entry("k1")["request"] == json.loads(request(records[1].text))
    finally:
        store.close()


def test_a_store_made_at_a1228df_opens_reads_its_cache_and_keeps_references_to_its_texts(tmp_path):
    from tests.test_store_migration import old_store

    path = old_store(tmp_path / "old.db", fixture="a1228df")
    store = Store(path)
    try:
        keys = [row[0] for row in store.conn.execute("SELECT key FROM llm_cache ORDER BY key")]
        assert keys and all(store.cache_entry(key) is not None for key in keys)
        ids = [row[0] for row in store.conn.execute(
            "SELECT id FROM records WHERE length(text_of(text)) >= 64 ORDER BY id LIMIT 2")]
        found = store.records.get_many(ids)
        lookups = text_lookups(store)
        text = found[ids[0]].text
        store.cache_put("new", "m", request(text), {"choices": [{"message": {"content": "ok"}}]}, {})
        assert lookups == []
        assert store.conn.execute("SELECT request FROM llm_cache WHERE key='new'").fetchone()[0][:1] == ZSTD_WITH_TEXTS
    finally:
        store.close()
    store = Store(path)  # reopened, as a resumed run: the reply is found and the request reads back
    try:
        assert store.cache_get("new") == {"choices": [{"message": {"content": "ok"}}]}
        assert store.cache_entry("new")["request"] == json.loads(request(text))
    finally:
        store.close()
