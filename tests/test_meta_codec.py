"""Record metas are stored compressed against a dictionary per kind once enough of that kind exist, and
every read of meta (Python's and SQLite's JSON functions) sees them as they were written; the metas
written before their dictionary stay text and read the same."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sftgen.records import Record, Status
from sftgen.store import Store
from sftgen.store.gc import collect
from sftgen.store.meta_codec import MARK, TRAIN_AFTER, meta_json
from sftgen.store.results import ItemResult

GRAPH = {"make": [], "judge": ["make"]}


def passage(n: int, **extra) -> Record:
    meta = {"url": f"https://example.org/page/{n % 7}", "title": f"Quarks, part {n % 7}", "prompt_id": f"pro_{n % 5}",
            "score": n / 3, "passage_ids": [f"pas_{n - 1}"] if n else [], "colour": ["red", "green", "blue"][n % 3],
            **extra}
    return Record(id=f"pas_{n}", kind="passage", text=f"passage {n} about quark colour charge", meta=meta)


def stored_kinds(store: Store) -> dict[str, int]:
    return {kind: n for kind, n in store.conn.execute(
        "SELECT typeof(meta), COUNT(*) FROM record_rows GROUP BY typeof(meta)")}


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    odd = {TRAIN_AFTER + 5: {"weight": math.inf}, TRAIN_AFTER + 6: {"weight": -math.inf, "spread": math.nan},
           3: {"weight": math.inf, "note": "Infinity and NaN as words"}}
    records = [passage(n, **odd.get(n, {})) for n in range(TRAIN_AFTER + 40)]
    store.commit_batch("make", "s1", [ItemResult(item_id="doc_1", outcome=Status.KEPT, outputs=records)])
    yield store
    store.close()


def test_metas_beyond_the_first_of_a_kind_are_stored_compressed_and_read_back_whole(store):
    assert stored_kinds(store) == {"text": TRAIN_AFTER - 1, "blob": 41}
    assert store.conn.execute("SELECT COUNT(*) FROM meta_dicts WHERE kind='passage'").fetchone()[0] == 1
    blob = store.conn.execute("SELECT meta FROM record_rows WHERE typeof(meta)='blob' LIMIT 1").fetchone()[0]
    assert blob[:1] == MARK
    for n in (0, 3, TRAIN_AFTER, TRAIN_AFTER + 5, TRAIN_AFTER + 39):
        got = store.get(f"pas_{n}")
        assert got is not None and got.meta["url"] == passage(n).meta["url"] and got.meta["score"] == n / 3
    assert store.get(f"pas_{TRAIN_AFTER + 5}").meta["weight"] == math.inf
    assert math.isnan(store.get(f"pas_{TRAIN_AFTER + 6}").meta["spread"])
    ids = [f"pas_{n}" for n in range(0, TRAIN_AFTER + 40, 9)]
    assert store.lookups.metas(ids) == {i: store.get(i).meta for i in ids}
    assert store.lookups.meta_values(ids, "title") == {i: store.get(i).meta["title"] for i in ids}
    rows = {row[0]: row[5] for row in store.lookups.ancestor_rows(ids, ["title", "score"], [])}
    assert rows == {i: {"title": store.get(i).meta["title"], "score": store.get(i).meta["score"]} for i in ids}


def test_sqlite_reads_of_meta_count_the_compressed_and_the_non_finite_alike(store):
    counted = store.emits.tally_emitted(["make"], "passage", Status.KEPT, "colour")
    expected = {colour: sum(1 for n in range(TRAIN_AFTER + 40) if ["red", "green", "blue"][n % 3] == colour)
                for colour in ("red", "green", "blue")}
    assert counted == expected
    lean = {r.id: r.meta for r in store.emits.emitted_without_text(["make"], "passage", keys=["colour", "weight"])}
    assert lean[f"pas_{TRAIN_AFTER + 5}"] == {"colour": passage(TRAIN_AFTER + 5).meta["colour"], "weight": math.inf}
    assert lean["pas_3"]["weight"] == math.inf
    assert lean[f"pas_{TRAIN_AFTER + 6}"]["weight"] == -math.inf
    assert len(lean) == TRAIN_AFTER + 40
    assert store.reviews.picked("passage", "pro_1") == []  # reads meta.prompt_id in SQLite
    assert collect(store.db, apply=False).garbage.record_ids == []  # gc reads passage_ids and document_id there


def test_a_meta_merged_or_set_later_keeps_being_read_whole(store):
    late = f"pas_{TRAIN_AFTER + 10}"
    store.commit_batch("judge", "s1", [ItemResult(item_id=late, outcome=Status.KEPT, meta_updates={"scores": {"style": 4}, "colour": None})])
    store.set_meta("pas_1", {"scores": {"style": 2}})
    assert store.get(late).meta["scores"] == {"style": 4} and "colour" not in store.get(late).meta
    assert [scores for scores in store.records.meta_objects("passage", "scores")] == [{"style": 2}, {"style": 4}]


def test_a_dictionary_made_in_a_transaction_that_rolls_back_is_not_used_after_it(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    try:
        with pytest.raises(RuntimeError), store.transaction():
            for n in range(TRAIN_AFTER + 3):
                store.records.insert(Record(id=f"q_{n}", kind="query", text=f"q {n}", meta={"n": n}), 0.0)
            raise RuntimeError("the batch fails")
        assert store.conn.execute("SELECT COUNT(*) FROM meta_dicts").fetchone()[0] == 0
        store.put_records([Record(id="q_x", kind="query", text="q x", meta={"n": -1})])
        assert store.get("q_x").meta == {"n": -1}
        again = [Record(id=f"a_{n}", kind="answer", text=f"a {n}", meta={"answer": n, "cites": [n, n + 1]})
                 for n in range(TRAIN_AFTER + 3)]
        store.put_records(again)  # a dictionary that gets the rolled-back one's id
        assert [store.get(record.id).meta for record in again] == [record.meta for record in again]
    finally:
        store.close()


def test_another_connection_reads_the_compressed_metas(store, tmp_path):
    other = Store(tmp_path / "store.db")
    try:
        assert other.get(f"pas_{TRAIN_AFTER + 20}").meta == passage(TRAIN_AFTER + 20).meta
    finally:
        other.close()
    plain = sqlite3.connect(tmp_path / "store.db")  # a connection without the functions still opens the tables
    try:
        assert plain.execute("SELECT COUNT(*) FROM records").fetchone()[0] == TRAIN_AFTER + 40
    finally:
        plain.close()


def test_gc_compresses_the_metas_an_older_sftgen_stored_as_text(tmp_path, monkeypatch):
    from sftgen.store import zstd_dictionaries

    monkeypatch.setattr(zstd_dictionaries, "TRAIN_AFTER", 10 ** 9)  # as an older sftgen: every meta as text
    store = Store(tmp_path / "store.db", GRAPH)
    records = [passage(n) for n in range(TRAIN_AFTER + 10)]
    store.commit_batch("make", "s1", [ItemResult(item_id="doc_1", outcome=Status.KEPT, outputs=records)])
    store.close()
    monkeypatch.setattr(zstd_dictionaries, "TRAIN_AFTER", TRAIN_AFTER)
    store = Store(tmp_path / "store.db", GRAPH)
    try:
        assert stored_kinds(store) == {"text": TRAIN_AFTER + 10}
        reencoded = collect(store.db, apply=True).reencoded
        assert stored_kinds(store) == {"blob": TRAIN_AFTER + 10}
        compressed_texts = store.conn.execute("SELECT COUNT(*) FROM texts WHERE typeof(text)='blob'").fetchone()[0]
        assert reencoded == TRAIN_AFTER + 10 + compressed_texts  # the metas, and the texts that now pay
        assert [store.get(record.id).meta for record in records] == [record.meta for record in records]
    finally:
        store.close()


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
                    st.sampled_from([math.inf, -math.inf, math.nan, 1e300, -0.0]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(st.text(max_size=5), inner, max_size=4),
    st.dictionaries(st.integers(), inner, max_size=2), st.frozensets(st.integers(), max_size=3)), max_leaves=20)


@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_a_meta_is_written_as_json_dumps_writes_it(meta):
    assert meta_json(meta) == json.dumps(meta, ensure_ascii=False, default=str)


def test_a_meta_inside_itself_is_refused_as_json_dumps_refuses_it():
    meta: dict = {"a": []}
    meta["a"].append(meta)
    with pytest.raises(ValueError, match="Circular reference"):
        meta_json(meta)
