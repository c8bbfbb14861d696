"""Prompts ranked together: the rankings asked for in one turn of the event loop run in one worker thread,
their queries encoded in one call. A prompt whose passages are cached ranks in well under a millisecond,
less than what a thread hop and an encoder call cost each; the rankings are the ones `hybrid_rank` gives
each prompt alone (a text's vector does not depend on the texts encoded with it)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sftgen.retrieval.hybrid import RankedPassage, hybrid_rank
from sftgen.retrieval.passage_cache import PassageCache, TextEncoder


@dataclass
class RankingJob:
    query: str
    passages: list[str]
    keys: list[bytes]
    top_k: int
    future: asyncio.Future


class BatchedRanker:
    def __init__(self, cache: PassageCache, encoder: TextEncoder | None):
        self.cache = cache
        self.encoder = encoder
        self.waiting: list[RankingJob] = []

    async def rank(self, query: str, passages: list[str], keys: list[bytes], top_k: int) -> list[RankedPassage]:
        loop = asyncio.get_running_loop()
        job = RankingJob(query, passages, keys, top_k, loop.create_future())
        self.waiting.append(job)
        if len(self.waiting) == 1:
            loop.call_soon(self.start, loop)
        return await job.future

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs, self.waiting = self.waiting, []
        running = loop.create_task(asyncio.to_thread(self.rank_all, jobs))
        running.add_done_callback(lambda done: settle(done, jobs))

    def rank_all(self, jobs: list[RankingJob]) -> list[list[RankedPassage] | Exception]:
        """Each job's ranking, or the exception that job met (the others are ranked all the same)."""
        try:
            vectors = self.encoder.encode([job.query for job in jobs]) if self.encoder is not None else None
        except Exception:  # noqa: BLE001 - each job meets it again alone, with its own error
            vectors = None
        results: list[list[RankedPassage] | Exception] = []
        for position, job in enumerate(jobs):
            try:
                results.append(hybrid_rank(job.query, job.passages, self.encoder, job.top_k, self.cache, job.keys,
                                           None if vectors is None else vectors[position : position + 1]))
            except Exception as exc:  # noqa: BLE001 - one prompt's failure is its own
                results.append(exc)
        return results


def settle(done: asyncio.Task, jobs: list[RankingJob]) -> None:
    if done.cancelled():
        outcomes: list = [asyncio.CancelledError()] * len(jobs)
    elif done.exception() is not None:
        outcomes = [done.exception()] * len(jobs)
    else:
        outcomes = done.result()
    for job, outcome in zip(jobs, outcomes):
        if job.future.done():  # its prompt was cancelled: the run is stopping
            continue
        if isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)
