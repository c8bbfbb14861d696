"""The store's write counter (`Database.generation`) moves on with every change to what `sftgen status`
shows: the batched and the item-by-item writer and `put_records` count their inserts once per batch, and an
update or delete by any program counts by trigger. A read or an LLM cache write leaves it alone."""

from __future__ import annotations

import sqlite3

from sftgen.records import Record, Status
from sftgen.store.results import ItemResult
from sftgen.store.store import Store

GRAPH = {"up": [], "step": ["up"]}


def made(text: str) -> list[ItemResult]:
    return [ItemResult(item_id="in0", outcome=Status.KEPT, label="input 0", outputs=[Record(kind="out", text=text)])]


def test_each_writer_moves_the_counter_once_per_batch(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    try:
        start = store.db.generation()
        store.put_records([Record(kind="input", text="input 0", id="in0"), Record(kind="input", text="input 1", id="in1")])
        after_put = store.db.generation()
        store.commit_batch("step", "s", made("made by the batched writer"))
        after_batch = store.db.generation()
        with store.transaction():
            store.write_one_by_one("step", "s2", made("made item by item"), 1.0)
        after_one_by_one = store.db.generation()
        assert start < after_put < after_batch < after_one_by_one
        assert after_batch - after_put == 1  # once for the batch's texts, record, emit and progress rows

        store.cache_put("a key", "model", {"messages": []}, {"choices": []}, {})
        list(store.emitted("step"))
        assert store.db.generation() == after_one_by_one
    finally:
        store.close()


def test_an_insert_update_or_delete_by_another_program_moves_the_counter(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    store.put_records([Record(kind="input", text="input 0", id="in0")])
    store.commit_batch("step", "s", made("made"))
    before = store.db.generation()
    store.close()

    seen = []
    other = sqlite3.connect(tmp_path / "store.db")
    for statement in ("UPDATE record_rows SET status = 'dropped'", "DELETE FROM progress_rows",
                      "UPDATE emit_rows SET active = 0", "DELETE FROM texts WHERE n = (SELECT MAX(n) FROM texts)",
                      "INSERT INTO reviews (item_id, kind, version_id, reviewer, decision, created_at) "
                      "VALUES ('in0', 'input', 'in0', 'someone', 'accept', 0)"):
        with other:
            other.execute(statement)
        seen.append(other.execute("SELECT generation FROM store_state").fetchone()[0])
    other.close()
    assert [before, *seen] == sorted(set([before, *seen]))  # each moved it on


def test_an_older_stores_insert_triggers_give_way_to_the_writers_count(tmp_path):
    path = tmp_path / "store.db"
    Store(path, GRAPH).close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER progress_rows_insert_counted AFTER INSERT ON progress_rows "
                 "BEGIN UPDATE store_state SET generation = generation + 1; END")  # as main at a1228df made it
    conn.commit()
    conn.close()
    store = Store(path, GRAPH)
    try:
        triggers = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert "progress_rows_insert_counted" not in triggers
        assert {"progress_rows_update_counted", "progress_rows_delete_counted", "reviews_insert_counted"} <= triggers
    finally:
        store.close()
