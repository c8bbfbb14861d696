"""Passage retrieval for grounded answers: BM25 and embedding rankings fused by reciprocal rank."""

from sftgen.retrieval.batched import BatchedRanker
from sftgen.retrieval.candidates import Candidate, CandidateSet, candidate_set
from sftgen.retrieval.hybrid import (RankedPassage, bm25_ranking, embedding_ranking, hybrid_rank, rank_candidates,
                                     reciprocal_rank_fusion)
from sftgen.retrieval.passage_cache import PassageCache

__all__ = ["BatchedRanker", "Candidate", "CandidateSet", "PassageCache", "RankedPassage",
           "bm25_ranking", "candidate_set", "embedding_ranking", "hybrid_rank", "rank_candidates",
           "reciprocal_rank_fusion"]
