"""Prompts ranked together: the rankings asked for in one turn of the event loop run in one worker thread
(sftgen/turns.py), their queries encoded in one call. A prompt whose passages are cached ranks in well under
a millisecond, less than what a thread hop and an encoder call cost each; the rankings are the ones
`hybrid_rank` gives each prompt alone (a text's vector does not depend on the texts encoded with it)."""

from __future__ import annotations

from dataclasses import dataclass

from sftgen.retrieval.bm25 import PassageTerms
from sftgen.retrieval.candidates import CandidateSet
from sftgen.retrieval.hybrid import RankedPassage, hybrid_rank, rank_candidates
from sftgen.retrieval.passage_cache import PassageCache, TextEncoder
from sftgen.turns import TurnBatch


@dataclass
class RankingJob:
    query: str
    passages: list[str]
    keys: list[bytes]
    top_k: int
    terms: list[PassageTerms] | None = None
    candidates: CandidateSet | None = None
    """When given, the passages are these candidates (`passages`, `keys` and `terms` are not read)."""


class BatchedRanker:
    def __init__(self, cache: PassageCache, encoder: TextEncoder | None):
        self.cache = cache
        self.encoder = encoder
        self.batch: TurnBatch[RankingJob, list[RankedPassage]] = TurnBatch(self.rank_all)

    async def rank(self, query: str, passages: list[str], keys: list[bytes], top_k: int,
                   terms: list[PassageTerms] | None = None) -> list[RankedPassage]:
        return await self.batch.submit(RankingJob(query, passages, keys, top_k, terms))

    async def rank_candidates(self, query: str, candidates: CandidateSet, top_k: int) -> list[RankedPassage]:
        return await self.batch.submit(RankingJob(query, [], [], top_k, candidates=candidates))

    def rank_all(self, jobs: list[RankingJob]) -> list[list[RankedPassage] | Exception]:
        """Each job's ranking, or the exception that job met (the others are ranked all the same)."""
        try:
            vectors = self.encoder.encode([job.query for job in jobs]) if self.encoder is not None else None
        except Exception:  # noqa: BLE001 - each job meets it again alone, with its own error
            vectors = None
        results: list[list[RankedPassage] | Exception] = []
        for position, job in enumerate(jobs):
            query_vector = None if vectors is None else vectors[position : position + 1]
            try:
                if job.candidates is not None:
                    results.append(rank_candidates(job.query, job.candidates, self.encoder, job.top_k, self.cache,
                                                   query_vector))
                else:
                    results.append(hybrid_rank(job.query, job.passages, self.encoder, job.top_k, self.cache, job.keys,
                                               query_vector, job.terms))
            except Exception as exc:  # noqa: BLE001 - one prompt's failure is its own
                results.append(exc)
        return results
