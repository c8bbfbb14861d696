"""Replies written to the request cache in one transaction per turn of the event loop.

A commit per reply cost about a third of the client's CPU per request (bench/llm_step_cpu.py): the replies
that come back in the same turn of the loop are written together instead. Each asker waits until its
reply is committed, and the client holds the request's slot until then, so a reply counts as in flight
until it is stored: a crash still re-sends at most `max_concurrency` requests (tests/crash_harness.py).

A cache without `transaction()` (the Ray worker's, which only collects) is written at once, reply by reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class CacheWrites:
    def __init__(self) -> None:
        self.pending: list[tuple[Any, tuple, asyncio.Future, Callable[[], None]]] = []
        self.scheduled = False

    def put(self, cache: Any, row: tuple, then: Callable[[], None]) -> asyncio.Future:
        """Store one reply (`cache.cache_put(*row)`) and call `then` (the request slot's release) as soon as
        it is committed or failed, in the same turn of the loop; await the future for the commit's outcome."""
        loop = asyncio.get_running_loop()
        written = loop.create_future()
        if getattr(cache, "transaction", None) is None:
            try:
                cache.cache_put(*row)
                written.set_result(None)
            except Exception as error:
                written.set_exception(error)
            then()
            return written
        self.pending.append((cache, row, written, then))
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self.flush)
        return written

    def flush(self) -> None:
        """Commit every reply waiting, one transaction per cache (there is one in a run)."""
        self.scheduled = False
        pending, self.pending = self.pending, []
        while pending:
            cache = pending[0][0]
            batch = [entry for entry in pending if entry[0] is cache]
            pending = [entry for entry in pending if entry[0] is not cache]
            error: Exception | None = None
            try:
                if hasattr(cache, "cache_put_many"):  # the store: one statement for the batch
                    cache.cache_put_many([row for _, row, _, _ in batch])
                else:
                    with cache.transaction("the LLM request cache"):
                        for _, row, _, _ in batch:
                            cache.cache_put(*row)
            except Exception as failed:  # DiskFull stops the run: every asker of the batch raises it
                error = failed
            for _, _, written, then in batch:
                then()
                if written.done():  # its asker was cancelled
                    continue
                if error is None:
                    written.set_result(None)
                else:
                    written.set_exception(error)
