"""Blocking calls made in one turn of the event loop run together in one worker thread, each with its own
result or exception."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sftgen.turns import TurnBatch, call_batch


def test_the_calls_of_one_turn_share_one_worker_thread_and_keep_their_own_results():
    batch = call_batch()

    def where(n):
        if n == 3:
            raise ValueError("three is refused")
        return n * 10, threading.get_ident()

    async def go():
        return await asyncio.gather(*(batch.submit((where, (n,))) for n in range(6)), return_exceptions=True)

    results = asyncio.run(go())
    assert isinstance(results[3], ValueError) and str(results[3]) == "three is refused"
    values = [r for i, r in enumerate(results) if i != 3]
    assert [value for value, _ in values] == [0, 10, 20, 40, 50]
    assert len({thread for _, thread in values}) == 1 and values[0][1] != threading.get_ident()


def test_calls_of_later_turns_go_in_later_batches():
    batch = call_batch()
    seen: list[int] = []

    async def one(n):
        await asyncio.sleep(0.01 * n)
        return await batch.submit((seen.append, (n,)))

    async def go():
        await asyncio.gather(*(one(n) for n in range(3)))

    asyncio.run(go())
    assert seen == [0, 1, 2]


def test_a_cancelled_caller_leaves_the_others_their_results():
    batch = call_batch()
    release = threading.Event()

    async def go():
        slow = asyncio.ensure_future(batch.submit((release.wait, (5,))))
        other = asyncio.ensure_future(batch.submit((sum, ([1, 2],))))
        await asyncio.sleep(0.05)
        slow.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await slow
        return await other

    assert asyncio.run(go()) == 3


def test_a_batch_on_the_loop_runs_in_the_loops_thread_in_the_next_turn():
    batches: list[tuple[list[int], int]] = []

    def do_all(jobs):
        batches.append((jobs, threading.get_ident()))
        return [ValueError(f"{job} is refused") if job == 2 else job * 10 for job in jobs]

    batch = TurnBatch(do_all, in_thread=False)

    async def go():
        first = await asyncio.gather(*(batch.submit(n) for n in range(4)), return_exceptions=True)
        later = await batch.submit(7)
        return first, later, threading.get_ident()

    first, later, loop_thread = asyncio.run(go())
    assert first[:2] == [0, 10] and first[3] == 30
    assert isinstance(first[2], ValueError) and str(first[2]) == "2 is refused"
    assert later == 70
    assert batches == [([0, 1, 2, 3], loop_thread), ([7], loop_thread)]


@pytest.mark.parametrize("in_thread", [True, False])
def test_an_exception_of_the_whole_batch_is_each_jobs(in_thread):
    def do_all(jobs):
        raise OSError("the store is gone")

    batch = TurnBatch(do_all, in_thread=in_thread)

    async def go():
        return await asyncio.gather(*(batch.submit(n) for n in range(3)), return_exceptions=True)

    results = asyncio.run(go())
    assert [str(result) for result in results] == ["the store is gone"] * 3
    assert all(isinstance(result, OSError) for result in results)
