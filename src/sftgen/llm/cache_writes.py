"""Replies written to the request cache together, in one transaction per commit window.

A commit per reply cost about a third of the client's CPU per request (bench/llm_step_cpu.py), and on a
quiet machine replies come back one per turn of the event loop. So the replies that come back within a
short window are written together: the first reply waiting opens it, and it closes `WINDOW_SHARE` of the
requests' measured latency later (at most `WINDOW_CAP_S`), when `MOST_WAITING` replies wait, or at once
when no other request is in the server's hands (no reply could join it). Each asker waits until its reply
is committed, and the client holds the request's slot until then, so a reply counts as in flight until it
is stored: a crash still re-sends at most `max_concurrency` requests (tests/crash_harness.py). Holding the
slots a little longer costs that share of wall time at most, when the requests wait for slots.

A cache without `transaction()` (the Ray worker's, which only collects) is written at once, reply by reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

WINDOW_SHARE = 0.03
"""How long a commit window stays open, as a share of the requests' latency."""
WINDOW_CAP_S = 0.05
"""The longest a commit window stays open, however slow the server."""
MOST_WAITING = 16
"""A window closes when this many replies wait: a larger batch saves little more per reply."""
LATENCY_WEIGHT = 1 / 16
"""The weight of each new request in the latency's moving average."""


class CacheWrites:
    def __init__(self, window_share: float = WINDOW_SHARE) -> None:
        self.window_share = window_share
        """0: no window, each loop turn's replies are committed in the next turn."""
        self.pending: list[tuple[Any, tuple, asyncio.Future, Callable[[], None]]] = []
        self.timer: asyncio.Handle | None = None
        self.due = 0.0
        """When the open window closes (the loop's clock)."""
        self.latency_s = 0.0
        """The moving average of the requests' latency (0 until one is measured: no window)."""

    def saw_latency(self, seconds: float) -> None:
        """One request's time in the server's hands (its send to its reply)."""
        self.latency_s += (seconds - self.latency_s) * LATENCY_WEIGHT if self.latency_s else seconds

    def window_s(self) -> float:
        return min(WINDOW_CAP_S, self.window_share * self.latency_s)

    def put(self, cache: Any, row: tuple, then: Callable[[], None], in_flight: int = 0) -> asyncio.Future:
        """Store one reply (`cache.cache_put(*row)`) and call `then` (the request slot's release) as soon as
        it is committed or failed; await the future for the commit's outcome. `in_flight`: how many other
        requests are in the server's hands now (none: the window closes at once)."""
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
        closes_now = in_flight == 0 or len(self.pending) >= MOST_WAITING
        self.flush_after(loop, 0.0 if closes_now else self.window_s())
        return written

    def flush_after(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        """Commit what waits `delay` seconds from now, or sooner if the open window closes sooner; 0: in the
        next turn of the loop (with the replies that came back in this one)."""
        due = loop.time() + delay
        if self.timer is not None:
            if self.due <= due:
                return
            self.timer.cancel()
        self.due = due
        self.timer = loop.call_soon(self.flush) if delay <= 0 else loop.call_at(due, self.flush)

    def flush(self) -> None:
        """Commit every reply waiting, one transaction per cache (there is one in a run)."""
        if self.timer is not None:
            self.timer.cancel()  # a no-op when it is the one running
            self.timer = None
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
