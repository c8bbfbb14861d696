"""CPU per item of committing a step's results: the batched writer (Store.commit_batch) against the
item-by-item one (Store.write_one_by_one), in one run, on fresh stores of the same content.

Run against main's code (PYTHONPATH=/work/main/src), which has only the item-by-item writer, both columns
are main's commit_batch.

Two kinds of step, as a pipeline has them: one that makes a record per input (rephrase, answer) and a
filter that passes its input on (prompt_filter). Batches of 64, the executor's default.

    PYTHONPATH=src python bench/store_writes.py [--items 4000] [--statements]

`--statements` adds, for the batched writer, the CPU each SQL statement takes per item (its first words),
COMMIT among them: where the write's time goes.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

import sftgen.store.db as store_db

from sftgen.records import Record, Status
from sftgen.store.results import ItemResult
from sftgen.store.store import Store

GRAPH = {"up": [], "make": ["up"], "filter": ["make"]}
BATCH = 64


def upstream(store: Store, items: int) -> list[Record]:
    records = [Record(kind="prompt", text=f"a prompt about topic {i}, asked plainly", meta={"topic": i % 50})
               for i in range(items)]
    item_by_item(store)("up", [ItemResult(item_id=r.id, outcome=Status.KEPT, outputs=[r]) for r in records])
    return records


def item_by_item(store: Store):
    if not hasattr(store, "write_one_by_one"):  # main's code: its commit_batch is the item-by-item writer
        return lambda step, batch: store.commit_batch(step, "s", batch)

    def commit(step: str, batch: list[ItemResult]) -> None:
        with store.transaction():
            store.write_one_by_one(step, "s", batch, time.time())
    return commit


def made(records: list[Record]) -> list[ItemResult]:
    return [ItemResult(item_id=r.id, outcome=Status.KEPT, label=r.text[:60], llm_requests=1, cache_keys=[f"key{i}"],
                       outputs=[r.child("prompt", f"{r.text}, rephrased {i}", {"variant": "plain", "llm_cache_keys": [f"key{i}"]})])
            for i, r in enumerate(records)]


def filtered(results: list[ItemResult]) -> list[ItemResult]:
    return [ItemResult(item_id=result.outputs[0].id, outcome=Status.KEPT if i % 5 else Status.DROPPED,
                       reason=None if i % 5 else "off topic", label=result.outputs[0].text[:60], llm_requests=1,
                       cache_keys=[f"f{i}"], passes_input_on=True) for i, result in enumerate(results)]


def cpu_per_item(commit, step: str, results: list[ItemResult]) -> float:
    started = time.process_time()
    for start in range(0, len(results), BATCH):
        commit(step, results[start : start + BATCH])
    return (time.process_time() - started) / len(results) * 1e6


def run(items: int, batched: bool, folder: Path) -> dict[str, float]:
    store = Store(folder / f"{'batched' if batched else 'one_by_one'}.db", GRAPH)
    records = upstream(store, items)

    commit = (lambda step, batch: store.commit_batch(step, "s", batch)) if batched else item_by_item(store)
    making = made(records)
    figures = {"make": cpu_per_item(commit, "make", making), "filter": cpu_per_item(commit, "filter", filtered(making))}
    store.close()
    return figures


def statements_per_item(items: int, folder: Path) -> dict[str, dict[str, float]]:
    """step -> {statement's first words: CPU µs per item} of one batched run, timed on the store's connection."""
    spent: dict[str, float] = collections.defaultdict(float)
    plain = store_db.StoreConnection.execute, store_db.StoreConnection.executemany

    def timed(method):
        def call(self, sql, *args):
            started = time.process_time()
            try:
                return method(self, sql, *args)
            finally:
                spent[("many " if method is plain[1] else "") + " ".join(sql.split()[:5])] += time.process_time() - started
        return call

    store = Store(folder / "timed.db", GRAPH)
    making = made(upstream(store, items))
    figures = {}
    store_db.StoreConnection.execute, store_db.StoreConnection.executemany = timed(plain[0]), timed(plain[1])
    try:
        for step, results in (("make", making), ("filter", filtered(making))):
            spent.clear()
            cpu_per_item(lambda name, batch: store.commit_batch(name, "s", batch), step, results)
            figures[step] = {sql: seconds / items * 1e6 for sql, seconds in spent.items()}
    finally:
        store_db.StoreConnection.execute, store_db.StoreConnection.executemany = plain
        store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5, help="the two writers take turns; each one's best round counts")
    parser.add_argument("--statements", action="store_true", help="the batched writer's CPU per SQL statement too")
    args = parser.parse_args()
    rounds: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for number in range(args.rounds):
        for batched in (False, True):
            with tempfile.TemporaryDirectory() as folder:
                rounds[batched].append(run(args.items, batched, Path(folder)))
    one_by_one, batched = ({step: min(r[step] for r in rounds[kind]) for step in ("make", "filter")}
                           for kind in (False, True))
    print(f"{args.items:,} items per step, batches of {BATCH}, best of {args.rounds} rounds: CPU µs per item committed")
    print(f"  {'step':8} {'item by item':>13} {'batched':>9} {'ratio':>6}")
    for step in ("make", "filter"):
        print(f"  {step:8} {one_by_one[step]:13.1f} {batched[step]:9.1f} {batched[step] / one_by_one[step]:6.2f}")
    if args.statements:
        with tempfile.TemporaryDirectory() as folder:
            for step, spent in statements_per_item(args.items, Path(folder)).items():
                print(f"  batched {step}: SQL {sum(spent.values()):.1f} µs per item, the largest statements:")
                for sql, micros in sorted(spent.items(), key=lambda item: -item[1])[:8]:
                    print(f"    {micros:6.2f}  {sql}")


if __name__ == "__main__":
    main()
