"""The local executor: runs the pipeline's steps in order on one asyncio loop.

Within a step, up to `concurrency` inputs are in process at once and each freed slot is refilled at
once; finished items are committed in small batches (one transaction each), so a crash loses at most
what was in flight. The whole list of steps is passed over again until a pass finds nothing to do, so
a step that feeds an earlier one (web research -> chunking) loops until its quotas or budget end it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from sftgen.run.executors.filter_guard import FilterGuard
from sftgen.failures import RunStopped
from sftgen.llm.client import ChatClient, LLMError
from sftgen.run.budget import BudgetGuard
from sftgen.run.settled import SettledSteps, step_key
from sftgen.records import Record, Status, stable_hash
from sftgen.core.step import GlobalStep, Outcome, SourceItem, SourceStep, Step
from sftgen.core.context import RunContext
from sftgen.store import ItemResult

log = logging.getLogger("sftgen.run")


class BudgetExhausted(Exception):
    """The recipe's budget is spent: the run stops cleanly and resumes where it stopped."""


class ProgressReporter(Protocol):
    def watch_llm(self, client: ChatClient | None) -> None: ...
    def step_started(self, step: str, total: int | None) -> None: ...
    def item_done(self, step: str, outcome: str) -> None: ...
    def step_finished(self, step: str) -> None: ...


class NullProgress:
    def watch_llm(self, client: ChatClient | None) -> None:
        pass

    def step_started(self, step: str, total: int | None) -> None:
        pass

    def item_done(self, step: str, outcome: str) -> None:
        pass

    def step_finished(self, step: str) -> None:
        pass


@dataclass
class RunSummary:
    processed: dict[str, int] = field(default_factory=dict)
    passes: int = 0
    stopped_by: str | None = None
    outcomes: dict[str, Counter] = field(default_factory=dict)
    """Per step, the outcomes of the items it processed in this run (kept, dropped, error)."""
    error_reasons: dict[str, Counter] = field(default_factory=dict)

    def count(self, step: str, result: ItemResult) -> None:
        outcomes = self.outcomes.get(step)
        if outcomes is None:
            outcomes = self.outcomes[step] = Counter()
        outcomes[result.outcome] += 1
        if result.outcome == Status.ERROR:
            self.error_reasons.setdefault(step, Counter())[result.reason or "unknown"] += 1

    def failed_steps(self) -> list[str]:
        """The steps whose every item (at least one) ended in error in this run."""
        return [step for step, outcomes in self.outcomes.items()
                if outcomes[Status.ERROR] and outcomes[Status.ERROR] == sum(outcomes.values())]

    def failure_line(self) -> str | None:
        """One line for the command line when a step failed on every item; None otherwise."""
        failed = self.failed_steps()
        if not failed:
            return None
        parts = []
        for step in failed:
            reason, times = self.error_reasons[step].most_common(1)[0]
            parts.append(f"{step} ({self.outcomes[step][Status.ERROR]} items; commonest reason {reason}, {times}x)")
        return (f"every item failed in {', '.join(parts)}; `sftgen status` lists the errors, "
                "and `sftgen run` retries them")


class LocalExecutor:
    def __init__(
        self,
        progress: ProgressReporter | None = None,
        budget: BudgetGuard | None = None,
        commit_every: int = 64,
        commit_interval_s: float = 0.5,
        max_passes: int = 50,
        retry_errors: bool = True,
    ):
        self.progress = progress or NullProgress()
        self.budget = budget
        """The recipe's budget; None: no limit (the dry run's preview, the Ray workers)."""
        self.commit_every = commit_every
        self.commit_interval_s = commit_interval_s
        self.max_passes = max_passes
        self.retry_errors = retry_errors
        self.summary = RunSummary()
        self.processed: dict[str, int] = {}
        self.errors_before: float | None = None
        """Inputs that failed before this moment are retried; those failing during this run are not."""
        self._filter_guard: FilterGuard | None = None
        self.settled: SettledSteps | None = None
        """The steps an earlier run found with nothing to do (run/settled.py); None: always look."""
        self._found_idle: dict[str, str] = {}
        """This pass: step -> its `step_key`, for the item and global steps that found nothing pending."""

    def filter_guard(self, ctx: RunContext) -> FilterGuard:
        if self._filter_guard is None:
            self._filter_guard = FilterGuard(ctx.recipe.filters)
        return self._filter_guard

    def budget_check(self) -> str | None:
        """None while there is budget left; otherwise what was spent."""
        return self.budget.check() if self.budget is not None else None

    def wall_seconds_left(self) -> float | None:
        return self.budget.wall_seconds_left() if self.budget is not None else None

    def allowance(self, step: Step, ctx: RunContext, pending: int) -> int:
        """How many of the pending inputs this step may take now: `--limit` counts over the whole run."""
        if ctx.limit is None:
            return pending
        return max(0, min(pending, ctx.limit - self.processed.get(step.name, 0)))

    async def run(self, steps: list[Step], ctx: RunContext) -> RunSummary:
        summary = self.summary = RunSummary()
        self._filter_guard = None
        self.processed = summary.processed
        self.errors_before = time.time() if self.retry_errors else None
        self.progress.watch_llm(ctx.llm)  # progress bars show the requests in flight
        for _ in range(self.max_passes):
            summary.passes += 1
            did_work = False
            self._found_idle = {}
            generation = ctx.store.db.generation() if self.settled is not None else None
            for step in steps:
                try:
                    done = await self.run_step(step, ctx)
                except BudgetExhausted as exc:
                    summary.stopped_by = str(exc)
                    log.warning("budget spent, stopping: %s", exc)
                    return summary
                summary.processed[step.name] = summary.processed.get(step.name, 0) + done
                did_work = did_work or done > 0
            if not did_work:
                self.remember_settled(ctx, generation)
                break
        log.info("run finished after %d passes; items processed per step: %s", summary.passes, summary.processed)
        return summary

    def remember_settled(self, ctx: RunContext, generation: int | None) -> None:
        """After a pass that did nothing: the steps it found idle are settled at the store's generation, if
        nothing was written meanwhile, every input counted (no --limit, errors retried) and none of their
        inputs ended in error in this run (those are pending for the next run)."""
        if self.settled is None or generation is None or ctx.limit is not None or not self.retry_errors:
            return
        if ctx.store.db.generation() != generation:
            return
        idle = {name: key for name, key in self._found_idle.items()
                if not self.summary.outcomes.get(name, {}).get(Status.ERROR)}
        self.settled.remember(generation, idle)

    def found_settled(self, step: Step, ctx: RunContext, settings: str) -> bool:
        """Nothing pending for this step, known without looking (run/settled.py)."""
        return self.settled is not None and self.settled.holds(step.name, settings, step.upstream,
                                                               ctx.store.db.generation())

    async def run_step(self, step: Step, ctx: RunContext) -> int:
        step.reopen_inputs(ctx)
        if isinstance(step, SourceStep):
            return await self.run_source_step(step, ctx)
        if isinstance(step, GlobalStep):
            return await self.run_global_step(step, ctx)
        return await self.run_item_step(step, ctx)

    # ---- item steps: a pool of workers over a stream of pending inputs --------------------------

    async def run_item_step(self, step: Step, ctx: RunContext) -> int:
        settings = step.settings_hash(ctx)
        if self.found_settled(step, ctx, settings):
            self._found_idle[step.name] = step_key(settings, step.upstream)
            return 0
        pending = ctx.store.count_pending(step.name, step.upstream, settings, self.errors_before)
        if pending == 0:
            self._found_idle[step.name] = step_key(settings, step.upstream)
        total = self.allowance(step, ctx, pending)
        if total == 0:
            return 0
        log.info("%s: %d pending inputs", step.name, total)
        self.progress.step_started(step.name, total)
        batch = CommitBuffer(ctx, step.name, settings, self.commit_every, self.commit_interval_s)
        inputs = self.pending_stream(step, ctx, settings, total)
        done = await self.run_pool(step, ctx, inputs, batch, lambda item, ictx: step.process(item, ictx))
        self.progress.step_finished(step.name)
        return done

    async def pending_stream(self, step: Step, ctx: RunContext, settings: str, total: int):
        after_seq, fed = 0, 0
        while fed < total:
            page = ctx.store.pending_inputs(
                step.name, step.upstream, settings, after_seq, limit=256, errors_before=self.errors_before
            )
            if not page:
                return
            self.prepare_page(step, [record for _, record in page[: total - fed]], ctx)
            for seq, record in page:
                after_seq = seq
                yield record
                fed += 1
                if fed >= total:
                    return

    def prepare_page(self, step: Step, records: list[Record], ctx: RunContext) -> None:
        step.prepare_inputs(records, ctx)

    async def run_pool(self, step, ctx, inputs, batch: CommitBuffer, handler) -> int:
        workers_count = worker_count(step, ctx)
        queue: asyncio.Queue = asyncio.Queue(maxsize=2 * workers_count)
        stop: list[str] = []

        async def feed() -> None:
            try:
                async for item in inputs:
                    message = self.budget_check()
                    if message:
                        stop.append(message)
                        break
                    await queue.put(item)
            finally:
                for _ in range(workers_count):
                    await queue.put(None)

        async def work() -> int:
            count = 0
            while (item := await queue.get()) is not None:
                # Checked again here, not only when feeding: items already queued when the budget runs
                # out stay pending for the next run instead of overshooting the budget by a queue's worth.
                if not stop and (message := self.budget_check()):
                    stop.append(message)
                if stop:
                    continue
                for result in await self.run_one(step, item, ctx, handler):
                    result = self.filter_guard(ctx).advised(step.name, result)
                    batch.add(result)
                    self.summary.count(step.name, result)
                    self.progress.item_done(step.name, result.outcome)
                    self.filter_guard(ctx).check(step.name, result)
                count += 1
            return count

        feeder = asyncio.create_task(feed())
        workers = [asyncio.create_task(work()) for _ in range(workers_count)]
        pool = asyncio.gather(*workers)
        pool.add_done_callback(lambda done: done.cancelled() or done.exception())  # seen, even when we stop early
        try:
            # The wall budget is watched here, not only between items: a request sleeping in a retry or
            # waiting out a Retry-After must not hold the run past it.
            finished, _ = await asyncio.wait({pool}, timeout=self.wall_seconds_left())
            if not finished:
                raise BudgetExhausted(self.budget_check() or "budget.max_wall_minutes reached")
            counts = pool.result()
            if feeder.done() and not feeder.cancelled() and (failed := feeder.exception()) is not None:
                raise failed  # reading the inputs failed (a page's store read, `prepare_inputs`): not "nothing to do"
        except BaseException:
            # A RunStopped, the wall budget or Ctrl-C ends every worker now: the items in flight stay pending.
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            feeder.cancel()
            batch.flush()
        if stop:
            raise BudgetExhausted(stop[0])
        return sum(counts)

    async def run_one(self, step: Step, item, ctx: RunContext, handler) -> list[ItemResult]:
        ictx = ctx.item(step.name)
        started = time.perf_counter()
        try:
            outcome: Outcome = await handler(item, ictx)
        except RunStopped:
            raise
        except LLMError as exc:
            outcome = Outcome(Status.ERROR, reason=exc.reason, detail=error_detail(exc))
        except Exception as exc:  # one item's failure is recorded on it; the run goes on
            log.debug("step %s failed on %s", step.name, item.id, exc_info=True)
            outcome = Outcome(Status.ERROR, reason=type(exc).__name__, detail=f"{exc}\n{last_frame(exc)}")
        if outcome.status == Status.ERROR:  # recorded on the item too; the run log gets it as it happens
            log.warning("error in %s on %s: %s: %s", step.name, label_of(step, item), outcome.reason,
                        (outcome.detail or "").splitlines()[0][:300] if outcome.detail else "")
        for output in outcome.outputs:
            if ictx.cache_keys:
                output.meta.setdefault("llm_cache_keys", list(ictx.cache_keys))
        side_results = [
            ItemResult(item_id=stable_hash(step.name, item.id, side.label), outcome=Status.DROPPED, reason=side.reason,
                       detail=side.detail, label=side.label)
            for side in outcome.side_drops
        ]
        return [*side_results, ItemResult(
            item_id=item.id,
            outcome=outcome.status,
            outputs=outcome.outputs if outcome.status == Status.KEPT else [],
            reason=outcome.reason,
            detail=outcome.detail,
            label=label_of(step, item),
            llm_requests=ictx.llm_requests,
            cache_hits=ictx.cache_hits,
            prompt_tokens=ictx.prompt_tokens,
            completion_tokens=ictx.completion_tokens,
            cache_keys=list(ictx.cache_keys),
            seconds=time.perf_counter() - started,
            passes_input_on=step.passes_input_on,
            input_status=outcome.input_status,
            meta_updates=outcome.meta_updates,
        )]

    # ---- source steps: inputs discovered outside the store (files, URL lists) --------------------

    async def run_source_step(self, step: SourceStep, ctx: RunContext) -> int:
        base = step.settings_hash(ctx)
        discovered = list(step.discover(ctx))
        done = ctx.store.done_settings(step.name, [s.id for s in discovered], self.errors_before)
        pending = [s for s in discovered if done.get(s.id) != source_settings(base, s)]
        pending = pending[: self.allowance(step, ctx, len(pending))]
        if not pending:
            return 0
        self.progress.step_started(step.name, len(pending))
        by_fingerprint: dict[str, list[SourceItem]] = {}
        for source in pending:
            by_fingerprint.setdefault(source_settings(base, source), []).append(source)
        total = 0
        for settings, sources in by_fingerprint.items():
            batch = CommitBuffer(ctx, step.name, settings, self.commit_every, self.commit_interval_s)
            total += await self.run_pool(step, ctx, iterate(sources), batch, step.read)
        self.progress.step_finished(step.name)
        return total

    # ---- global steps: everything at once ------------------------------------------------------

    async def run_global_step(self, step: GlobalStep, ctx: RunContext) -> int:
        settings = step.settings_hash(ctx)
        if self.found_settled(step, ctx, settings):
            self._found_idle[step.name] = step_key(settings, step.upstream)
            return 0
        new_items = [record for _, record in self.all_pending(step, ctx, settings)]
        if not new_items:
            self._found_idle[step.name] = step_key(settings, step.upstream)
        new_items = new_items[: self.allowance(step, ctx, len(new_items))]
        if not new_items:
            return 0
        self.progress.step_started(step.name, len(new_items))
        kept_before = list(ctx.store.emitted(step.name))
        results = step.run_global(new_items, kept_before, ctx)
        if inspect.isawaitable(results):  # a global step may ask the LLM (dedup's verifier)
            results = await results
        batch = CommitBuffer(ctx, step.name, settings, self.commit_every * 16, self.commit_interval_s)
        for result in results:
            result.passes_input_on = step.passes_input_on
            batch.add(result)
            self.summary.count(step.name, result)
            self.progress.item_done(step.name, result.outcome)
        batch.flush()
        self.progress.step_finished(step.name)
        return len(results)

    def all_pending(self, step: Step, ctx: RunContext, settings: str):
        after_seq = 0
        while True:
            page = ctx.store.pending_inputs(
                step.name, step.upstream, settings, after_seq, limit=5000, errors_before=self.errors_before
            )
            if not page:
                return
            yield from page
            after_seq = page[-1][0]


class CommitBuffer:
    """Collects finished items and commits them in one transaction every N items or T seconds."""

    def __init__(self, ctx: RunContext, step: str, settings: str, every: int, interval_s: float):
        self.ctx, self.step, self.settings = ctx, step, settings
        self.every, self.interval_s = every, interval_s
        self.items: list[ItemResult] = []
        self.last_flush = time.monotonic()

    def add(self, result: ItemResult) -> None:
        self.items.append(result)
        if len(self.items) >= self.every or time.monotonic() - self.last_flush >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if self.items:
            self.ctx.store.commit_batch(self.step, self.settings, self.items)
            self.items = []
        self.last_flush = time.monotonic()


def worker_count(step: Step, ctx: RunContext) -> int:
    """Items in process at once. An LLM step gets a quarter more workers than the client has request slots:
    an item sleeping in retry backoff holds its worker but not a slot, and without spare workers those
    slots stay idle (10% of requests failing cost 1.3x the clean run's time; bench/llm_throughput.py).
    The client's semaphore still caps the requests in flight."""
    concurrency = step.concurrency(ctx)
    return concurrency + max(2, concurrency // 4) if step.uses_llm else concurrency


def source_settings(base: str, source: SourceItem) -> str:
    return f"{base}:{source.fingerprint}"


def label_of(step: Step, item) -> str:
    if isinstance(item, SourceItem):
        return item.label
    return step.label(item) if isinstance(item, Record) else str(item)


async def iterate(items):
    for item in items:
        yield item


def error_detail(exc: LLMError) -> str:
    detail = exc.detail
    if exc.raw_replies:
        detail += "\nlast raw reply: " + exc.raw_replies[-1][:1000]
    return detail


def last_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f"at {frame.filename}:{frame.lineno} in {frame.name}"
