"""A batch committed through the batched writer leaves the store exactly as the item-by-item writer does:
the same names and texts with the same numbers, records, emits (same seq), verdicts and progress rows."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sftgen.records import Record, Status
from sftgen.store import batch_writes
from sftgen.store.results import ItemResult
from sftgen.store.store import Store

GRAPH = {"up": [], "step": ["up"], "down": ["step"]}


def inputs() -> list[Record]:
    return [Record(kind="input", text=f"input {i}", id=f"in{i}") for i in range(4)]


outputs = st.builds(
    lambda n, text, meta, parents, status: Record(
        kind="out", text=text, id=f"out{n}", meta=meta, parent_ids=parents, status=status),
    st.integers(0, 5), st.sampled_from(["a", "b", "shared text", "é ünïcode"]),
    st.sampled_from([{}, {"k": 1}, {"k": 2, "l": [1, "x"]}]),
    st.lists(st.sampled_from(["in0", "in1", "in3", "never-seen", "out9"]), max_size=2),
    st.sampled_from([Status.KEPT, Status.DROPPED]),
)
def itself(other: int | None, meta: dict) -> list[Record]:
    """The input passed on as an output (a review gate's), or another input of the batch."""
    return [] if other is None else [Record(kind="input", text=f"input {other}", id=f"in{other}", meta=meta)]


results = st.builds(
    lambda n, outcome, outs, passes, label, verdict, updates, other, meta: ItemResult(
        item_id=f"in{n}", outcome=outcome, outputs=outs + itself(n if other == -1 else other, meta),
        passes_input_on=passes, label=label, reason="why",
        input_status=verdict, meta_updates=updates, llm_requests=1, cache_keys=["k1", "k2"], seconds=0.5),
    st.integers(0, 5), st.sampled_from([Status.KEPT, Status.DROPPED, Status.ERROR]),
    st.lists(outputs, max_size=3), st.booleans(),
    st.sampled_from([None, "label", "shared text", "input", "input 2", "input 20", "a", "é ünïcode", ""]),
    st.sampled_from([None, Status.DROPPED, Status.KEPT]), st.sampled_from([{}, {"dup": True}, {"dup": None}]),
    st.sampled_from([None, None, -1, -1, 2]), st.sampled_from([{}, {"edited": 1}]),
)
batches = st.lists(st.lists(results, max_size=6), min_size=1, max_size=3)


def table_dump(store: Store) -> dict[str, list[tuple]]:
    def rows(query: str) -> list[tuple]:
        return [tuple(row) for row in store.conn.execute(query)]

    return {
        "names": rows("SELECT n, name FROM names ORDER BY n"),
        "texts": rows("SELECT n, hash, text FROM texts ORDER BY n"),
        "records": rows("SELECT n, kind, step, text, parents, meta, origin, status, reason, dropped_by "
                                "FROM record_rows ORDER BY n"),
        "emits": rows("SELECT seq, step, item, source, active FROM emit_rows ORDER BY seq"),
        "progress": rows("SELECT step, item, settings, outcome, reason, detail, label, n_outputs, "
                                 "llm_requests, cache_hits, seconds, cache_keys FROM progress_rows "
                                 "ORDER BY step, item"),
    }


def fresh(results_list: list[ItemResult]) -> list[ItemResult]:
    """A copy: the writers set each output's step."""
    return [ItemResult(**{**vars(result), "outputs": [Record(**vars(record)) for record in result.outputs]})
            for result in results_list]


def commit_item_by_item(store: Store, step: str, settings_hash: str, results_list: list[ItemResult]) -> None:
    with store.transaction():
        store.write_one_by_one(step, settings_hash, results_list, 1.0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_the_batched_writer_leaves_the_same_rows_as_the_item_by_item_one(passes):
    with tempfile.TemporaryDirectory() as folder:
        batched, one_by_one = Store(Path(folder) / "a.db", GRAPH), Store(Path(folder) / "b.db", GRAPH)
        for store in (batched, one_by_one):
            store.put_records(inputs())
            commit_item_by_item(store, "up", "s0", [ItemResult(item_id="doc", outcome=Status.KEPT, outputs=inputs())])
        for number, batch in enumerate(passes):
            batched.commit_batch("step", f"settings{number % 2}", fresh(batch))
            commit_item_by_item(one_by_one, "step", f"settings{number % 2}", fresh(batch))
            assert table_dump(batched) == table_dump(one_by_one)


def test_a_plain_batch_is_written_by_the_batched_writer(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    store.put_records(inputs())
    batch = [ItemResult(item_id=record.id, outcome=Status.KEPT, outputs=[record.child("out", f"made from {record.id}")],
                        label=record.id) for record in inputs()]
    with store.transaction():
        assert batch_writes.write(store.records, "step", "s", batch, 1.0)
    assert [record.text for record in store.emitted("step")] == [f"made from in{i}" for i in range(4)]
    assert [row["label"] for row in store.progress.rows("step")] == [f"in{i}" for i in range(4)]


def test_a_batch_that_withdraws_is_left_to_the_item_by_item_writer(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    store.put_records(inputs())
    first = inputs()[0].child("out", "first pass")
    store.commit_batch("step", "s", [ItemResult(item_id="in0", outcome=Status.KEPT, outputs=[first])])
    second = [ItemResult(item_id="in0", outcome=Status.KEPT, outputs=[inputs()[0].child("out", "second pass")])]
    with store.transaction():
        assert not batch_writes.write(store.records, "step", "s", second, 1.0)
    store.commit_batch("step", "s", second)
    assert [record.text for record in store.emitted("step")] == ["second pass"]


def test_an_emit_withdrawn_before_is_made_active_again_by_the_batched_writer(tmp_path):
    """A withdrawn emit row is set active again, not inserted anew: the same rows (and seq) as item by item."""
    first, second = inputs()[0].child("out", "first pass"), inputs()[0].child("out", "second pass")
    passes = [[first], [second], [first, second, inputs()[0]]]
    batched, one_by_one = Store(tmp_path / "a.db", GRAPH), Store(tmp_path / "b.db", GRAPH)
    for store in (batched, one_by_one):
        store.put_records(inputs())
    for outputs_of_pass in passes[:2]:
        for store in (batched, one_by_one):
            result = ItemResult(item_id="in0", outcome=Status.KEPT, outputs=outputs_of_pass)
            store.commit_batch("step", "s", fresh([result]))
    last = [ItemResult(item_id="in0", outcome=Status.KEPT, outputs=passes[2], passes_input_on=True)]
    with batched.transaction():
        assert batch_writes.write(batched.records, "step", "s", fresh(last), 1.0)
    commit_item_by_item(one_by_one, "step", "s", fresh(last))
    assert table_dump(batched) == table_dump(one_by_one)
    assert [record.text for record in batched.emitted("step")] == ["first pass", "second pass", "input 0"]


def test_inserted_rows_numbers_are_those_sqlite_gave_them():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO t (n, v) VALUES (7, 'seven')")
    numbers = batch_writes.inserted(conn, "t", "INSERT INTO t (v) VALUES (?)", [("a",), ("b",), ("c",)])
    assert numbers == [8, 9, 10]
    assert [row[0] for row in conn.execute("SELECT n FROM t WHERE v IN ('a', 'b', 'c') ORDER BY v")] == numbers


def test_inserted_rows_are_read_back_when_sqlite_numbered_them_otherwise():
    """At the largest rowid SQLite picks free numbers at random: no numbers are assumed then."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO t (n, v) VALUES (?, 'largest')", (2**63 - 1,))
    assert batch_writes.inserted(conn, "t", "INSERT INTO t (v) VALUES (?)", [("a",), ("b",)]) is None
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 3
