"""Record texts are stored compressed against a dictionary per record kind once enough of that kind exist
(where that is shorter), and every read sees them as they were written; texts written before their
dictionary, short texts and progress labels stay text and read the same."""

from __future__ import annotations

import sqlite3

from sftgen.records import Record, Status
from sftgen.store import Store
from sftgen.store.gc import collect
from sftgen.store.results import ItemResult
from sftgen.store.zstd_dictionaries import TRAIN_AFTER

GRAPH = {"make": [], "judge": ["make"]}
WORDS = "quark gluon colour charge confinement lattice hadron meson baryon pion kaon jet parton".split()


def answer_text(n: int) -> str:
    words = [WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(40)]
    return f"Answer {n}: " + " ".join(words) + " [1]. Ünïcode and \"quotes\" stay as they are."


def answers(count: int, start: int = 0) -> list[Record]:
    return [Record(id=f"ans_{n}", kind="answer", text=answer_text(n), meta={"n": n}) for n in range(start, start + count)]


def stored_types(store: Store) -> dict[str, int]:
    return {kind: n for kind, n in store.conn.execute("SELECT typeof(text), COUNT(*) FROM texts GROUP BY typeof(text)")}


def commit(store: Store, records: list[Record], item: str = "doc_1", label: str | None = None) -> None:
    store.commit_batch("make", "s1", [ItemResult(item_id=item, outcome=Status.KEPT, outputs=records, label=label)])


def test_texts_beyond_the_first_of_a_kind_are_stored_compressed_and_read_back_whole(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    try:
        records = answers(TRAIN_AFTER + 40) + [Record(id="ans_short", kind="answer", text="Yes.")]
        commit(store, records, label="a label " * 20)
        assert stored_types(store) == {"text": TRAIN_AFTER - 1 + 2, "blob": 41}  # the short one and the label as text
        assert store.conn.execute("SELECT COUNT(*) FROM text_dicts WHERE kind='answer'").fetchone()[0] == 1
        compressed = store.conn.execute("SELECT SUM(length(text)) FROM texts WHERE typeof(text)='blob'").fetchone()[0]
        assert compressed < sum(len(answer_text(n).encode()) for n in range(TRAIN_AFTER - 1, TRAIN_AFTER + 40)) / 2
        ids = [record.id for record in records]
        assert [store.get(i).text for i in ids] == [record.text for record in records]
        assert {i: r.text for i, r in store.lookups.records(ids).items()} == {r.id: r.text for r in records}
        assert [record.text for record in store.emitted("make")] == [record.text for record in records]
        rows = {row[0]: row[4] for row in store.lookups.ancestor_rows(ids, [], ["answer"])}
        assert rows == {record.id: record.text for record in records}
        assert [row["label"] for row in store.progress.rows("make")] == ["a label " * 20]
    finally:
        store.close()
    other = Store(tmp_path / "store.db", GRAPH)  # another process: the dictionary comes from the store
    try:
        assert other.get(f"ans_{TRAIN_AFTER + 30}").text == answer_text(TRAIN_AFTER + 30)
    finally:
        other.close()
    plain = sqlite3.connect(tmp_path / "store.db")  # a connection without the functions still opens the tables
    try:
        assert plain.execute("SELECT COUNT(*) FROM records").fetchone()[0] == TRAIN_AFTER + 41
    finally:
        plain.close()


def test_the_item_by_item_writer_stores_the_same_texts(tmp_path):
    batched, one_by_one = Store(tmp_path / "a.db", GRAPH), Store(tmp_path / "b.db", GRAPH)
    try:
        commit(batched, answers(TRAIN_AFTER + 10))
        with one_by_one.transaction():
            one_by_one.write_one_by_one("make", "s1", [ItemResult(item_id="doc_1", outcome=Status.KEPT,
                                                                  outputs=answers(TRAIN_AFTER + 10))], 1.0)
        dump = "SELECT n, hash, text FROM texts ORDER BY n"
        assert batched.conn.execute(dump).fetchall() == one_by_one.conn.execute(dump).fetchall()
    finally:
        batched.close()
        one_by_one.close()


def test_a_dictionary_made_in_a_rolled_back_transaction_is_forgotten(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    try:
        commit(store, answers(TRAIN_AFTER - 5))
        try:
            with store.transaction():
                store.put_records(answers(20, start=TRAIN_AFTER))  # trains the dictionary, then rolls back
                raise RuntimeError("stop")
        except RuntimeError:
            pass
        assert store.conn.execute("SELECT COUNT(*) FROM text_dicts").fetchone()[0] == 0
        again = answers(20, start=TRAIN_AFTER + 100)
        store.put_records(again)
        assert [store.get(record.id).text for record in again] == [record.text for record in again]
    finally:
        store.close()


def test_gc_compresses_the_texts_an_older_sftgen_stored_as_text(tmp_path, monkeypatch):
    from sftgen.store import zstd_dictionaries

    monkeypatch.setattr(zstd_dictionaries, "TRAIN_AFTER", 10 ** 9)  # as an older sftgen: every text as text
    store = Store(tmp_path / "store.db", GRAPH)
    records = answers(TRAIN_AFTER + 10)
    commit(store, records, label="a label " * 20)
    store.close()
    monkeypatch.setattr(zstd_dictionaries, "TRAIN_AFTER", TRAIN_AFTER)
    store = Store(tmp_path / "store.db", GRAPH)
    try:
        assert stored_types(store) == {"text": TRAIN_AFTER + 11}
        collect(store.db, apply=True)
        assert stored_types(store) == {"text": 1, "blob": TRAIN_AFTER + 10}  # the label stays text
        assert [store.get(record.id).text for record in records] == [record.text for record in records]
    finally:
        store.close()


def test_a_progress_label_that_is_a_compressed_text_reads_back_as_text(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    try:
        commit(store, answers(TRAIN_AFTER + 5))
        short = answers(1, start=TRAIN_AFTER + 50)[0]
        short.text = short.text[:70]  # a step's label is its item's text cut at 80 characters: the same text
        commit(store, [short], item="doc_2", label=short.text)
        stored = store.conn.execute("SELECT t.text FROM record_rows r JOIN names i ON i.n = r.n "
                                    "JOIN texts t ON t.n = r.text WHERE i.name = ?", (short.id,)).fetchone()[0]
        assert isinstance(stored, bytes)  # compressed, and shared with the label
        labels = {row["item_id"]: row["label"] for row in store.progress.rows("make")}
        assert labels["doc_2"] == short.text
    finally:
        store.close()
