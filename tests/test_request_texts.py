"""A cached request keeps references to the store's texts it quotes in fences (passages, the question, the
answer) and reads back byte for byte as it was sent; gc writes a text back into the requests before it
deletes the text."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from sftgen.llm.fencing import fence
from sftgen.records import Record, Status
from sftgen.store import Store
from sftgen.store.interning import text_hash
from sftgen.store.llm_cache import ZSTD_WITH_DICTIONARY, ZSTD_WITH_TEXTS, LLMCache
from sftgen.store.request_texts import expanded, fenced, referenced, references
from sftgen.store.results import ItemResult

PASSAGE = ("Quarks carry colour charge and are confined in hadrons; the strong force between them grows with "
           "distance, so a free quark is never seen.\nGluons carry colour too — “ünïcode” and \"quotes\" as well.")


def request(*texts: str, ensure_ascii: bool = False) -> bytes:
    user = "Passages:\n" + "\n\n".join(f"[{n}] " + fence(text, "PASSAGE") for n, text in enumerate(texts, 1))
    body = {"model": "m", "messages": [{"role": "system", "content": "You answer from the passages."},
                                       {"role": "user", "content": user}], "temperature": 0.2}
    return json.dumps(body, ensure_ascii=ensure_ascii).encode("utf-8")


fenced_texts = st.text(st.characters(blacklist_categories=["Cs"]), min_size=0, max_size=200)


@given(st.lists(fenced_texts, min_size=1, max_size=4), st.booleans(), st.data())
def test_a_referenced_request_expands_to_the_bytes_sent(texts, ensure_ascii, data):
    body = request(*texts, ensure_ascii=ensure_ascii)
    held = {text_hash(text): n for n, text in enumerate(texts) if data.draw(st.booleans())}
    by_number = {n: text for n, text in enumerate(texts)}
    kept, numbers = referenced(body, lambda digests: {d: held[d] for d in digests if d in held})
    assert references(kept) == numbers
    assert set(numbers) <= set(held.values())
    assert expanded(kept, by_number.__getitem__) == body
    if not numbers:
        assert kept == body


def test_only_texts_the_store_holds_and_long_enough_become_references():
    body = request(PASSAGE, "short", PASSAGE + " (not in the store)")
    held = {text_hash(PASSAGE): 7, text_hash("short"): 8}
    kept, numbers = referenced(body, lambda digests: {d: held[d] for d in digests if d in held})
    assert numbers == [7]
    assert len(kept) < len(body) - len(PASSAGE) // 2
    assert b"short" in kept and b"(not in the store)" in kept


def test_the_store_keeps_references_and_gc_writes_them_back_before_it_deletes_the_text(tmp_path):
    store = Store(tmp_path / "store.db", {"retrieve": [], "answer": ["retrieve"]})
    try:
        passage = Record(id="pas_1", kind="passage", text=PASSAGE, meta={})
        store.commit_batch("retrieve", "s", [ItemResult(item_id="que_1", outcome=Status.KEPT, outputs=[passage])])
        body = request(PASSAGE, "short")
        store.cache_put("k1", "m", body, {"choices": [{"message": {"content": "answer"}}]}, {})
        stored = store.conn.execute("SELECT request FROM llm_cache WHERE key='k1'").fetchone()[0]
        assert stored[:1] == ZSTD_WITH_TEXTS
        assert store.cache_entry("k1")["request"] == json.loads(body)

        store.cache_put("k2", "m", request("nothing the store holds, but long enough to be looked up " * 2),
                        {"choices": []}, {})
        assert store.conn.execute("SELECT request FROM llm_cache WHERE key='k2'").fetchone()[0][:1] == \
            ZSTD_WITH_DICTIONARY

        n = store.conn.execute("SELECT n FROM texts WHERE hash=?", (text_hash(PASSAGE),)).fetchone()[0]
        with store.transaction():  # as gc does before it deletes the texts no record has any more
            assert LLMCache(store.db).inline_texts({n + 1}) == 0  # a text no request refers to
            assert LLMCache(store.db).inline_texts({n}) == 1
            store.conn.execute("DELETE FROM record_rows")
            store.conn.execute("DELETE FROM texts")
        stored = store.conn.execute("SELECT request FROM llm_cache WHERE key='k1'").fetchone()[0]
        assert stored[:1] == ZSTD_WITH_DICTIONARY
    finally:
        store.close()
    store = Store(tmp_path / "store.db")
    try:
        assert store.cache_entry("k1")["request"] == json.loads(body)
    finally:
        store.close()


@given(st.lists(fenced_texts, min_size=1, max_size=4), st.booleans())
def test_a_request_packs_to_the_same_bytes_whether_its_fenced_texts_were_seen_before_or_not(texts, ensure_ascii):
    from sftgen.store.request_texts import fenced_text

    body = request(*texts, ensure_ascii=ensure_ascii)
    held = {text_hash(text): n for n, text in enumerate(texts)}
    numbers_of = lambda digests: {d: held[d] for d in digests if d in held}  # noqa: E731
    fenced_text.cache_clear()
    cold = referenced(body, numbers_of)
    warm = referenced(body, numbers_of)  # every fenced text's escape and hash now from the memo
    assert cold == warm
    for start, end in fenced(body):
        assert fenced_text(body[start:end]) == fenced_text.__wrapped__(body[start:end])
