"""The project's one store: SQLite in WAL mode under `<project>/.sftgen/store.db`.

`Store` is the facade every other part holds. The SQL lives in the query modules beside it, one per table
(records.py, lineage.py for the emits, progress.py, llm_cache.py, runs.py, reviews.py, lookups.py for many
records at once), reachable as `store.records`, `store.emits`, `store.progress`, `store.llm_cache`,
`store.runs`, `store.reviews`, `store.lookups`; the store's own methods are what the executor and the steps
use at every item.

One transaction per committed batch: a crash loses at most the batch in flight. A write that fails for
want of space raises `DiskFull` (a RunStopped) and rolls back; LLM cache reads refuse from then on.

A store that commits step results is given the step graph (step -> the steps it consumes from) and
withdraws along it; one opened without it (to read) refuses to withdraw (store/lineage.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sftgen.records import Record, Status
from sftgen.store import batch_writes
from sftgen.store.db import Database, Transaction, count_change
from sftgen.store.disk_full import DiskFull
from sftgen.store.lineage import Emits
from sftgen.store.llm_cache import LLMCache
from sftgen.store.lookups import Lookups
from sftgen.store.progress import Progress
from sftgen.store.records import Records
from sftgen.store.results import ItemResult
from sftgen.store.reviews import Reviews
from sftgen.store.runs import Runs

StepGraph = Mapping[str, Sequence[str]]


class Store:
    def __init__(self, path: Path, graph: StepGraph | None = None):
        self.path = path
        self.db = Database(path)
        self.conn = self.db.conn
        self.records = Records(self.db)
        self.emits = Emits(self.db, graph)
        self.progress = Progress(self.db)
        self.llm_cache = LLMCache(self.db)
        self.runs = Runs(self.db)
        self.reviews = Reviews(self.db)
        self.lookups = Lookups(self.db)

    @property
    def disk_full(self) -> DiskFull | None:
        return self.db.disk_full

    @property
    def on_disk_full(self) -> Callable[[DiskFull], None] | None:
        return self.db.on_disk_full

    @on_disk_full.setter
    def on_disk_full(self, hook: Callable[[DiskFull], None] | None) -> None:
        self.db.on_disk_full = hook

    def transaction(self, what: str = "a write") -> Transaction:
        return self.db.transaction(what)

    def close(self) -> None:
        self.db.close()

    # ---- a step's results ----------------------------------------------------------------------

    def commit_batch(self, step: str, settings: str, results: Iterable[ItemResult]) -> None:
        """Write one batch of a step's results in one transaction, a few statements per table
        (store/batch_writes.py), or item by item where that writer says it must."""
        results = list(results)
        now = time.time()
        with self.transaction(f"results of step {step}"):
            if not batch_writes.write(self.records, step, settings, results, now):
                self.write_one_by_one(step, settings, results, now)

    def write_one_by_one(self, step: str, settings: str, results: Iterable[ItemResult], now: float) -> None:
        """The item-by-item writer, inside the caller's transaction (bench/store_writes.py compares the two)."""
        memo: dict[str, int] = {}  # the numbers of the names met in this transaction (store/interning.py)
        for result in results:
            self._write_result(step, settings, result, now, memo)
        count_change(self.conn)  # the inserts move the write counter here, not by trigger (store/db.py)

    def _write_result(self, step: str, settings: str, result: ItemResult, now: float, memo: dict[str, int]) -> None:
        for record in result.outputs:
            record.step = record.step or step
            self.records.insert(record, now, memo)
        emitted_ids = result.emitted_ids()
        if result.outcome != Status.ERROR:  # a failed redo leaves what an earlier pass made in place until it succeeds
            self.emits.replace(step, result.item_id, emitted_ids, memo)
            verdict = result.verdict_on_input()
            if verdict is not None:
                self.records.mark(result.item_id, verdict, result.reason, step)
            if result.meta_updates:
                self.records.merge_meta(result.item_id, result.meta_updates)
        self.progress.write(step, settings, result, len(emitted_ids), now, memo)

    def pending_inputs(
        self, step: str, upstream: Sequence[str], settings: str, after_seq: int = 0, limit: int = 256,
        errors_before: float | None = None,
    ) -> list[tuple[int, Record]]:
        return self.progress.pending(step, upstream, settings, after_seq, limit, errors_before)

    def count_pending(self, step: str, upstream: Sequence[str], settings: str,
                      errors_before: float | None = None) -> int:
        return self.progress.count_pending(step, upstream, settings, errors_before)

    def done_settings(self, step: str, item_ids: list[str], errors_before: float | None = None) -> dict[str, str]:
        return self.progress.done_settings(step, item_ids, errors_before)

    def items_done_as(self, step: str, outcome: Status, reason: str, settings: str) -> list[str]:
        return self.progress.items_done_as(step, outcome, reason, settings)

    def forget_progress(self, step: str, item_ids: Iterable[str]) -> int:
        """Make a step process these inputs again on the next run (e.g. after a reviewer's decision)."""
        return self.progress.forget(step, item_ids)

    # ---- records -------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def put_records(self, records: Iterable[Record]) -> None:
        self.records.put(records)

    def set_meta(self, record_id: str, updates: dict[str, Any]) -> None:
        self.records.set_meta(record_id, updates)

    def records_of_kind(self, kind: str) -> Iterator[Record]:
        return self.records.of_kind(kind)

    def lineage(self, record_id: str) -> list[Record]:
        """The record and all its ancestors, nearest first."""
        return self.records.ancestry(record_id)

    def emitted(self, step: str | Sequence[str], kind: str | None = None) -> Iterator[Record]:
        """Records a step (or any of several steps) passes on now, in the order they were first emitted."""
        return self.emits.emitted([step] if isinstance(step, str) else list(step), kind)

    def count_emitted(self, step: str) -> int:
        return self.emits.count(step)

    # ---- the LLM request cache (llm.client.RequestCache) and the runs -------------------------

    def cache_get(self, key: str) -> dict[str, Any] | None:
        return self.llm_cache.get(key)

    def cache_put(self, key: str, model: str, request: dict | bytes, response: dict | bytes, usage: dict) -> None:
        self.llm_cache.put(key, model, request, response, usage)

    def cache_put_many(self, rows: list[tuple[str, str, dict | bytes, dict | bytes, dict]]) -> None:
        """Several `cache_put`s' rows in one transaction (llm/cache_writes.py: the replies of one loop turn)."""
        self.llm_cache.put_many(rows)

    def cache_entry(self, key: str) -> dict[str, Any] | None:
        return self.llm_cache.entry(key)

    def start_run(self) -> int:
        return self.runs.start()

    def finish_run(self, run_id: int, outcome: str, message: str = "") -> None:
        self.runs.finish(run_id, outcome, message)


def open_store(project_dir: Path, graph: StepGraph | None = None) -> Store:
    return Store(project_dir / ".sftgen" / "store.db", graph)
