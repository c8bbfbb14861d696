"""Withdrawal along the step graph: when a step stops passing an item on, only the steps downstream of it
forget the item; a pass-through filter upstream that emits the same item id keeps its emit and progress."""

from __future__ import annotations

import pytest

from sftgen.records import Record, Status
from sftgen.store import ItemResult, Store
from sftgen.store.lineage import NoStepGraph


def passed(item_id):
    return ItemResult(item_id=item_id, outcome=Status.KEPT, passes_input_on=True)


def test_a_gate_withdrawing_an_item_leaves_the_filters_before_it_alone(tmp_path):
    store = Store(tmp_path / "store.db", graph={"filter": ["make"], "gate": ["filter"], "answer": ["gate"]})
    prompt = Record(kind="prompt", text="p", origin="x")
    edited = Record(kind="prompt", text="p, edited", parent_ids=[prompt.id])
    answer = Record(kind="answer", text="a", parent_ids=[prompt.id])
    store.commit_batch("make", "s", [ItemResult(item_id="source", outcome=Status.KEPT, outputs=[prompt])])
    store.commit_batch("filter", "s", [passed(prompt.id)])
    store.commit_batch("gate", "s", [passed(prompt.id)])
    store.commit_batch("answer", "s", [ItemResult(item_id=prompt.id, outcome=Status.KEPT, outputs=[answer])])

    store.put_records([edited])
    store.commit_batch("gate", "s", [ItemResult(item_id=prompt.id, outcome=Status.KEPT, outputs=[edited])])

    assert [r.id for r in store.emitted("filter")] == [prompt.id]
    assert [r.id for r in store.emitted("gate")] == [edited.id]
    assert list(store.emitted("answer")) == []
    done = {(row["step"], row["item_id"]) for row in store.progress.rows()}
    assert ("filter", prompt.id) in done and ("gate", prompt.id) in done
    assert ("answer", prompt.id) not in done  # the answer step forgot the old version...
    assert store.pending_inputs("answer", ["gate"], "s")[0][1].id == edited.id  # ...and has the new one to do
    assert store.forget_progress("gate", [prompt.id]) == 1
    assert ("gate", prompt.id) not in {(row["step"], row["item_id"]) for row in store.progress.rows()}
    store.close()


def test_a_store_opened_without_the_step_graph_refuses_to_withdraw_and_writes_nothing(tmp_path):
    store = Store(tmp_path / "store.db")  # as `sftgen status` and exports open it
    first, second = Record(kind="prompt", text="a", origin="x"), Record(kind="prompt", text="b", origin="x")
    store.commit_batch("make", "s", [ItemResult(item_id="source", outcome=Status.KEPT, outputs=[first])])
    with pytest.raises(NoStepGraph, match="without the step graph"):
        store.commit_batch("make", "s", [ItemResult(item_id="source", outcome=Status.KEPT, outputs=[second])])
    assert [r.id for r in store.emitted("make")] == [first.id]  # the batch was rolled back whole
    store.close()
