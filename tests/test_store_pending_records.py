"""A step's pending inputs come back as the records the store holds (`Store.get`), in emit order and paged by
seq, whether their text and meta are stored compressed or as text (`Progress.pending` decodes them itself)."""

from __future__ import annotations

from sftgen.records import Record, Status
from sftgen.store import Store
from sftgen.store.results import ItemResult
from sftgen.store.zstd_dictionaries import TRAIN_AFTER

GRAPH = {"make": [], "judge": ["make"]}


def passage(n: int, parents: list[str]) -> Record:
    text = f"Passage {n}: quarks carry colour charge and are confined in hadrons; a free quark is never seen. " * 2
    return Record(kind="passage", text=text, parent_ids=parents,
                  meta={"url": f"https://example.org/page/{n % 7}", "score": n / 3, "tags": ["red", "green"][: n % 3]},
                  status=Status.KEPT if n % 4 else Status.DROPPED, reason=None if n % 4 else "too short")


def test_pending_inputs_are_the_stored_records_in_emit_order_page_by_page(tmp_path):
    store = Store(tmp_path / "store.db", GRAPH)
    sources = ["doc_b", "doc_a", "doc_c"]
    records = [passage(n, [sources[n % 3], sources[(n + 1) % 3]][: 1 + n % 2]) for n in range(TRAIN_AFTER + 30)]
    store.commit_batch("make", "s1", [ItemResult(item_id="doc_1", outcome=Status.KEPT, outputs=records)])
    stored = {kind: n for kind, n in store.conn.execute(
        "SELECT typeof(t.text), COUNT(*) FROM record_rows r JOIN texts t ON t.n = r.text GROUP BY typeof(t.text)")}
    assert stored.get("blob") and stored.get("text")  # both forms are read
    pages, after = [], 0
    while page := store.pending_inputs("judge", ["make"], "j1", after, limit=100):
        pages.append(page)
        after = page[-1][0]
    assert [len(page) for page in pages] == [100, 100, 86]
    got = [record for page in pages for _, record in page]
    assert got == records
    assert got == [store.get(record.id) for record in records]
    seqs = [seq for page in pages for seq, _ in page]
    assert seqs == sorted(seqs)
    store.close()


def test_inputs_of_two_upstream_steps_come_in_emit_order_each_at_its_first_emit(tmp_path):
    graph = {"write": [], "broaden": [], "rephrase": ["write", "broaden"]}
    store = Store(tmp_path / "store.db", graph)
    prompts = [Record(kind="prompt", text=f"What binds quark number {n} inside a proton?") for n in range(12)]
    order = []
    for n, prompt in enumerate(prompts):  # the two steps take turns, a few emits each
        step = "write" if (n // 3) % 2 == 0 else "broaden"
        store.commit_batch(step, "s", [ItemResult(item_id=f"source_{n}", outcome=Status.KEPT, outputs=[prompt])])
        order.append(prompt.id)
    again = prompts[1]  # emitted by broaden too, later: still at its first emit only
    store.commit_batch("broaden", "s", [ItemResult(item_id="source_again", outcome=Status.KEPT, outputs=[again])])
    seen, after = [], 0
    while page := store.pending_inputs("rephrase", ["write", "broaden"], "r1", after, limit=5):
        assert len(page) <= 5
        seen += [record.id for _, record in page]
        after = page[-1][0]
    assert seen == order
    store.close()
