"""A store made before the ids were numbered, by main at fcfd8f5 (before the metas were compressed and the
LLM cache keys numbered), or by main at a1228df (progress rows with a rowid, emits AUTOINCREMENT, texts not
compressed, requests not referring to them), opens with today's code: its records, emits, progress and LLM
cache read back as they were (through the store and through the tables' old names, now views), and an
unchanged run on it asks the LLM nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sftgen.records import Record, Status
from sftgen.store import ItemResult, Store
from sftgen.store.db import row_to_record
from sftgen.store.llm_cache import texts_reader, unpacked
from sftgen.store.meta_codec import MetaCodec
from sftgen.store.text_codec import TextCodec
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers
from tests.test_store_size import answer_script

FIXTURES = {"before-numbers": Path(__file__).parent / "support" / "store_before_numbers.sql",
            "fcfd8f5": Path(__file__).parent / "support" / "store_at_fcfd8f5.sql",
            "a1228df": Path(__file__).parent / "support" / "store_at_a1228df.sql"}
RECORDS = {"before-numbers": 17, "fcfd8f5": 17, "a1228df": 317}
"""How many records each fixture holds (a1228df's: the same flow, then 300 notes)."""
TABLES = {
    "records": "SELECT * FROM records ORDER BY id",
    "emits": "SELECT * FROM emits ORDER BY seq",
    "progress": "SELECT * FROM progress ORDER BY step, item_id",  # cache_keys last
    "llm_cache": "SELECT * FROM llm_cache ORDER BY key",
    "llm_cache_dicts": "SELECT * FROM llm_cache_dicts ORDER BY id",
    "runs": "SELECT * FROM runs ORDER BY id",
}
READ_RECORDS = """SELECT id, kind, step, text_of(text) AS text, parent_ids, meta_text(meta) AS meta, origin, status,
                         reason FROM records"""
EMITTED = """SELECT MIN(e.seq) AS seq, r.id, r.kind, r.step, text_of(r.text) AS text, r.parent_ids,
                    meta_text(r.meta) AS meta, r.origin, r.status, r.reason FROM emits e JOIN records r ON r.id = e.item_id
             WHERE e.step = ? AND e.active = 1 GROUP BY e.item_id ORDER BY seq"""
"""Today's `Store.emitted` on the old tables."""


def old_store(path: Path, without_cache_keys: bool = False, fixture: str = "before-numbers") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURES[fixture].read_text())
    if without_cache_keys:  # a store from before the progress rows named their cache rows
        conn.execute("DROP INDEX progress_item")
        conn.execute("ALTER TABLE progress DROP COLUMN cache_keys")
        conn.execute("CREATE INDEX emits_source ON emits(source_id)")
    conn.commit()
    conn.close()
    return path


def read_everything(path: Path) -> dict:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    MetaCodec(conn), TextCodec(conn)  # meta_text, text_of (the stored forms of an older store read as they are)
    try:
        tables = {name: [tuple(row) for row in conn.execute(query)] for name, query in TABLES.items()}
        steps = [row[0] for row in conn.execute("SELECT DISTINCT step FROM emits ORDER BY step")]
        emitted = {step: [row_to_record(row) for row in conn.execute(EMITTED, (step,))] for step in steps}
        records = [row_to_record(row) for row in conn.execute(f"{READ_RECORDS} ORDER BY id")]
        dictionaries = dict(conn.execute("SELECT id, data FROM llm_cache_dicts"))
        texts = texts_reader(conn)
        cache = {key: (unpacked(request, dictionaries.__getitem__, texts=texts), unpacked(response, dictionaries.__getitem__))
                 for key, request, response in conn.execute("SELECT key, request, response FROM llm_cache")}
        history = {item: [tuple(row) for row in conn.execute(
            "SELECT step, outcome, reason, done_at FROM progress WHERE item_id=? ORDER BY done_at", (item,))]
            for (item,) in conn.execute("SELECT DISTINCT item_id FROM progress")}
    finally:
        conn.close()
    return {"tables": tables, "emitted": emitted, "records": records, "cache": cache, "history": history}


@pytest.mark.parametrize("fixture, without_cache_keys", [("before-numbers", False), ("before-numbers", True),
                                                         ("fcfd8f5", False), ("a1228df", False)],
                         ids=["before-numbers", "before-cache-keys", "fcfd8f5", "a1228df"])
def test_an_older_store_reads_back_the_same_after_it_is_opened(tmp_path, fixture, without_cache_keys):
    path = old_store(tmp_path / "store.db", without_cache_keys, fixture)
    before = read_everything(path)
    assert len(before["tables"]["records"]) == RECORDS[fixture] and len(before["tables"]["emits"]) == 24
    assert before["cache"]
    assert any(row[4] == 0 for row in before["tables"]["emits"])  # a withdrawn emit comes along too

    store = Store(path)
    try:
        kinds = {row[0]: row[1] for row in store.conn.execute("SELECT name, type FROM sqlite_master")}
        assert (kinds["records"], kinds["emits"], kinds["progress"], kinds["llm_cache"]) == ("view",) * 4
        for record in before["records"]:
            assert store.get(record.id) == record
        for step, records in before["emitted"].items():
            assert list(store.emitted(step)) == records
            assert store.count_emitted(step) == len({r.id for r in records})
        for key, (request, response) in before["cache"].items():
            assert store.cache_get(key) == response
            assert store.cache_entry(key)["request"] == request
        for item, steps in before["history"].items():
            assert [tuple(row.values()) for row in store.progress.history(item)] == steps
    finally:
        store.close()
    after = read_everything(path)
    if without_cache_keys:  # the column comes back empty: gc then keeps every cache row
        assert {row[-1] for row in after["tables"]["progress"]} == {None}
        after["tables"]["progress"] = [row[:-1] for row in after["tables"]["progress"]]
    assert after == before

    store = Store(path)  # opened again: nothing left to copy, nothing changes
    store.close()
    again = read_everything(path)
    if without_cache_keys:
        again["tables"]["progress"] = [row[:-1] for row in again["tables"]["progress"]]
    assert again == before


@pytest.mark.parametrize("fixture", list(FIXTURES))
def test_an_unchanged_run_on_a_migrated_store_asks_nothing_and_changes_nothing(tmp_path, fixture):
    project = make_answer_project(tmp_path / "p")  # the project the fixture's store was made in
    path = old_store(project / ".sftgen" / "store.db", fixture=fixture)
    with running_fake_server() as server:
        server.script_steps(answer_script)
        store = Store(path)
        store.close()
        before = read_everything(path)
        run_answers(project, server)
        assert server.stats()["requests"] == 0
    after = read_everything(path)
    assert after["tables"]["runs"][:-1] == before["tables"]["runs"]  # one more run, nothing else
    assert {k: v for k, v in after.items() if k != "tables"} == {k: v for k, v in before.items() if k != "tables"}
    assert {k: v for k, v in after["tables"].items() if k != "runs"} == \
        {k: v for k, v in before["tables"].items() if k != "runs"}


@pytest.mark.parametrize("fixture", list(FIXTURES))
def test_a_migrated_store_has_todays_progress_and_emit_tables_and_new_emits_come_after_its_own(tmp_path, fixture):
    path = old_store(tmp_path / "store.db", fixture=fixture)
    last = max(row[0] for row in read_everything(path)["tables"]["emits"])
    store = Store(path, {"a_new_step": []})
    try:
        tables = dict(store.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        assert tables["progress_rows"].endswith("WITHOUT ROWID")
        assert "AUTOINCREMENT" not in tables["emit_rows"]
        assert store.conn.execute("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'emit_rows'").fetchone()[0] == 0
        if fixture != "before-numbers":  # rebuilt: the labels that start their input's text are stored as today's
            assert store.conn.execute("SELECT COUNT(*) FROM progress_rows WHERE label < 0").fetchone()[0] > 0
        made = Record(kind="prompt", text="a prompt made after the migration")
        store.commit_batch("a_new_step", "s", [ItemResult(item_id="an input", outcome=Status.KEPT, outputs=[made])])
        assert store.conn.execute("SELECT seq FROM emits WHERE item_id = ?", (made.id,)).fetchone()[0] == last + 1
        assert store.progress.outcome_of("a_new_step", "an input") == (Status.KEPT, None)
    finally:
        store.close()


def test_a_text_two_records_share_is_stored_once_and_read_back_with_each(tmp_path):
    store = Store(tmp_path / "store.db")
    try:
        page = "Quarks carry colour charge. " * 40
        store.put_records([Record(kind="passage", text=page, meta={"query_id": f"que_{n}"}, id=f"pas_{n}")
                           for n in range(5)])
        assert store.conn.execute("SELECT COUNT(*) FROM texts").fetchone()[0] == 1
        assert [store.get(f"pas_{n}").meta["query_id"] for n in range(5)] == [f"que_{n}" for n in range(5)]
        assert all(store.get(f"pas_{n}").text == page for n in range(5))
        assert store.get("pas_0").status == Status.KEPT
    finally:
        store.close()


def test_gc_stores_an_older_stores_cache_rows_as_todays_and_they_read_back_the_same(tmp_path):
    from sftgen.store.gc import collect
    from sftgen.store.llm_cache import ZSTD_WITH_DICTIONARY, ZSTD_WITH_TEXTS

    path = old_store(tmp_path / "store.db", fixture="fcfd8f5")
    before = read_everything(path)
    store = Store(path)
    try:
        done = collect(store.db, apply=True)
        rows = store.conn.execute("SELECT request, response FROM llm_rows").fetchall()
        assert done.reencoded == len(rows) == len(before["cache"]) - len(done.garbage.cache_keys) > 0
        assert {response[:1] for _, response in rows} == {ZSTD_WITH_DICTIONARY}
        # its requests all quote passages the store holds: they refer to them
        assert {request[:1] for request, _ in rows} == {ZSTD_WITH_TEXTS}
    finally:
        store.close()
    after = read_everything(path)
    earlier = {record.id: record for record in before["records"]}
    assert after["records"] and all(earlier[record.id] == record for record in after["records"])  # gc drops, alters none
    assert after["emitted"] == before["emitted"]
    assert {key: after["cache"][key] for key in before["cache"] if key in after["cache"]} == \
        {key: value for key, value in before["cache"].items() if key in after["cache"]}
    assert after["cache"]  # gc keeps what the step results name


def test_gc_stores_an_a1228df_stores_texts_and_requests_as_todays_and_they_read_back_the_same(tmp_path):
    from sftgen.store.gc import collect
    from sftgen.store.llm_cache import ZSTD_WITH_TEXTS

    path = old_store(tmp_path / "store.db", fixture="a1228df")
    before = read_everything(path)
    store = Store(path)
    try:
        assert store.conn.execute("SELECT COUNT(*) FROM texts WHERE typeof(text)='blob'").fetchone()[0] == 0
        collect(store.db, apply=True)
        kinds = dict(store.conn.execute("SELECT r.kind, COUNT(*) FROM record_rows r JOIN texts t ON t.n = r.text "
                                        "WHERE typeof(t.text)='blob' GROUP BY r.kind"))
        assert kinds == {"note": 300}  # the one kind with enough texts for a dictionary
        requests = {row[0][:1] for row in store.conn.execute("SELECT request FROM llm_rows")}
        assert ZSTD_WITH_TEXTS in requests  # the answers' and graders' requests refer to their passages
    finally:
        store.close()
    after = read_everything(path)
    earlier = {record.id: record for record in before["records"]}
    assert len(after["records"]) > 300 and all(earlier[record.id] == record for record in after["records"])
    assert after["emitted"] == before["emitted"]
    assert {key: after["cache"][key] for key in after["cache"]} == {key: before["cache"][key] for key in after["cache"]}
    assert after["cache"]


def test_a_store_indexed_by_item_as_up_to_fe92801_drops_that_index_and_reads_every_history_the_same(tmp_path):
    path = tmp_path / "store.db"
    store = Store(path, {"write": [], "check": ["write"]})
    prompts = [Record(kind="prompt", text=f"prompt {n}") for n in range(30)]
    try:
        store.commit_batch("write", "s1", [ItemResult(item_id=f"chunk {n}", outcome=Status.KEPT, outputs=[prompt])
                                           for n, prompt in enumerate(prompts)])
        store.commit_batch("check", "s2", [ItemResult(item_id=prompt.id, outcome=Status.DROPPED, reason="too short")
                                           for prompt in prompts[::3]])
        store.conn.execute("CREATE INDEX progress_rows_item ON progress_rows(item)")  # as fe92801 made it
        ids = [f"chunk {n}" for n in range(30)] + [prompt.id for prompt in prompts] + ["never seen"]
        before = {item: [dict(zip(("step", "outcome", "reason", "done_at"), row)) for row in store.conn.execute(
            "SELECT step, outcome, reason, done_at FROM progress WHERE item_id = ? ORDER BY done_at, step", (item,))]
            for item in ids}  # what fe92801 read through the index
    finally:
        store.close()

    store = Store(path, {"write": [], "check": ["write"]})
    try:
        indexes = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "progress_rows_item" not in indexes
        assert store.lookups.histories(ids) == before
        assert [store.progress.history(item) for item in ids] == [before[item] for item in ids]
        assert [row["step"] for row in store.progress.history(prompts[0].id)] == ["check"]
        assert store.lookups.histories(["never seen"]) == {"never seen": []}
    finally:
        store.close()
