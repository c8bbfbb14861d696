"""Work asked for in one turn of the event loop, done together: when many tasks each need a short blocking
call (a BM25 query, a read of a file already decoded, a prompt's ranking), one thread hop per call costs
more than the call; and reads that must stay on the loop's thread (the store's) cost less made together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


class TurnBatch(Generic[Job, Result]):
    """`await batch.submit(job)`: the jobs submitted in the same turn of the loop go to `do_all` together, in
    the next turn, in one worker thread (`in_thread=False`: on the loop itself); it returns one result per
    job, in order, an exception in place of a job that failed (that job's task raises it, the others get
    their results). An exception `do_all` raises is every job's."""

    def __init__(self, do_all: Callable[[list[Job]], list[Result | Exception]], in_thread: bool = True):
        self.do_all = do_all
        self.in_thread = in_thread
        self.waiting: list[tuple[Job, asyncio.Future]] = []

    async def submit(self, job: Job) -> Result:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append((job, future))
        if len(self.waiting) == 1:
            loop.call_soon(self.start, loop)
        return await future

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self.waiting = self.waiting, []
        jobs, futures = [job for job, _ in batch], [future for _, future in batch]
        if self.in_thread:
            running = loop.create_task(asyncio.to_thread(self.do_all, jobs))
            running.add_done_callback(lambda done: settle(done, futures))
            return
        try:
            outcomes: Sequence[Any] = self.do_all(jobs)
        except Exception as exc:  # noqa: BLE001 - every job of the batch meets it
            outcomes = [exc] * len(futures)
        settle_each(futures, outcomes)


def settle(done: asyncio.Task, futures: list[asyncio.Future]) -> None:
    if done.cancelled():
        outcomes: Sequence[Any] = [asyncio.CancelledError()] * len(futures)
    elif done.exception() is not None:
        outcomes = [done.exception()] * len(futures)
    else:
        outcomes = done.result()
    settle_each(futures, outcomes)


def settle_each(futures: list[asyncio.Future], outcomes: Sequence[Any]) -> None:
    for future, outcome in zip(futures, outcomes):
        if future.done():  # its task was cancelled: the run is stopping
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def calls(jobs: list[tuple[Callable[..., Any], tuple]]) -> list[Any]:
    """`do_all` for jobs that are (function, arguments): each called in turn, its exception its result."""
    results: list[Any] = []
    for fn, args in jobs:
        try:
            results.append(fn(*args))
        except Exception as exc:  # noqa: BLE001 - one call's failure is its own
            results.append(exc)
    return results


def call_batch() -> TurnBatch[tuple[Callable[..., Any], tuple], Any]:
    """A TurnBatch of plain calls: `await batch.submit((fn, args))`."""
    return TurnBatch(calls)
