"""A progress label's test reads the input's start from what the connection holds of the texts a step just
read (`TextNumbers.heads`) as it reads it from the store."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.records import Record, Status
from sftgen.store.interning import TextNumbers, name_id, texts_seen
from sftgen.store.progress import read_heads, text_heads
from sftgen.store.results import ItemResult
from sftgen.store.store import Store

LONG = "é" * (TextNumbers.HEAD_CHARS + 40)
TEXTS = ["", "short", "𝔘nicode ünïcode", "x" * TextNumbers.HEAD_CHARS, LONG]


def store_with(tmp_path: Path) -> tuple[Store, list[int]]:
    store = Store(tmp_path / "store.db", {"up": [], "step": ["up"]})
    records = [Record(kind="input", text=text, id=f"in{i}") for i, text in enumerate(TEXTS)]
    store.put_records(records)
    return store, [name_id(store.conn, record.id) for record in records]


def test_the_heads_held_are_those_the_store_reads(tmp_path):
    store, numbers = store_with(tmp_path)
    texts = dict(store.conn.execute("SELECT r.n, t.n FROM record_rows r JOIN texts t ON t.n = r.text"))
    seen = texts_seen(store.conn)
    seen.saw_texts(store.conn, [(texts[n], text) for n, text in zip(numbers, TEXTS)])
    for length in (1, 5, 80, TextNumbers.HEAD_CHARS, TextNumbers.HEAD_CHARS + 1, len(LONG) + 3):
        assert text_heads(store.conn, numbers, length) == read_heads(store.conn, numbers, length)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, TextNumbers.HEAD_CHARS + 60), st.sets(st.integers(0, len(TEXTS) - 1)))
def test_some_heads_held_some_read(tmp_path_factory, length, held):
    store, numbers = store_with(tmp_path_factory.mktemp("heads"))
    texts = dict(store.conn.execute("SELECT r.n, t.n FROM record_rows r JOIN texts t ON t.n = r.text"))
    texts_seen(store.conn).saw_texts(store.conn, [(texts[numbers[i]], TEXTS[i]) for i in held])
    assert text_heads(store.conn, numbers, length) == read_heads(store.conn, numbers, length)


def test_no_head_is_held_from_inside_a_transaction(tmp_path):
    store, _ = store_with(tmp_path)
    with store.transaction():
        texts_seen(store.conn).saw_texts(store.conn, [(1, "a text that may roll back")])
    assert not texts_seen(store.conn).heads


def test_the_inputs_a_step_reads_have_their_heads_held(tmp_path):
    store, _ = store_with(tmp_path)
    inputs = [Record(kind="input", text=text, id=f"in{i}") for i, text in enumerate(TEXTS)]
    store.commit_batch("up", "s", [ItemResult(item_id="doc", outcome=Status.KEPT, outputs=inputs)])
    store.pending_inputs("step", ["up"], "s")
    assert len(texts_seen(store.conn).heads) == len(set(TEXTS))
