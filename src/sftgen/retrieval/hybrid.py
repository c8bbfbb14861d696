"""Hybrid retrieval: rank candidate passages against a query by BM25 and by embedding similarity,
then fuse the two rankings with reciprocal rank fusion (RRF), which needs no score calibration:
score(p) = sum over rankings of 1 / (k + rank_in_that_ranking(p)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from sftgen.retrieval.passage_cache import PassageCache, TextEncoder, text_key

if TYPE_CHECKING:
    from sftgen.retrieval.bm25 import PassageTerms
    from sftgen.retrieval.candidates import CandidateSet

Ranking = Sequence[int] | np.ndarray
"""Candidate positions, best first (a list, or an array the ranking made)."""

RRF_K = 60
"""The usual RRF constant: it damps the weight of the very top ranks so one ranking cannot dominate."""


@dataclass
class RankedPassage:
    index: int
    """Position in the candidate list."""
    score: float
    """The fused RRF score."""
    bm25_rank: int | None
    embedding_rank: int | None


def bm25_ranking(query: str, passages: list[str], cache: PassageCache | None = None,
                 keys: list[bytes] | None = None, terms: list[PassageTerms] | None = None) -> list[int]:
    """Candidate indexes by BM25 score, best first; passages sharing no term with the query are left out.
    `keys`: the passages' `text_key`s, when known; `terms`: their `passage_terms`, when known."""
    from sftgen.retrieval.bm25 import bm25_scores, ranked_by_score, tokenize

    if not passages:
        return []
    query_tokens = tokenize([query])[0]
    if not query_tokens:
        return []
    if terms is None:
        terms = (cache or PassageCache()).terms(passages, keys)
    return ranked_by_score(bm25_scores(query_tokens, terms))


def embedding_ranking(
    query: str, passages: list[str], encoder: TextEncoder, cache: PassageCache | None = None,
    keys: list[bytes] | None = None, query_vector: np.ndarray | None = None,
) -> list[int]:
    """Candidate indexes by cosine similarity to the query (the encoder's vectors are L2-normalised).
    `query_vector`: `encoder.encode([query])`, when the caller encoded it already."""
    if not passages:
        return []
    passage_vectors = (cache or PassageCache()).vectors(passages, encoder, keys)
    query_row = (encoder.encode([query]) if query_vector is None else query_vector)[0]
    similarities = passage_vectors @ query_row.astype(passage_vectors.dtype, copy=False)
    return np.argsort(-similarities, kind="stable").tolist()


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, index in enumerate(ranking, start=1):
            fused[index] = fused.get(index, 0.0) + 1.0 / (k + rank)
    return fused


def hybrid_rank(
    query: str, passages: list[str], encoder: TextEncoder | None, top_k: int, cache: PassageCache | None = None,
    keys: list[bytes] | None = None, query_vector: np.ndarray | None = None, terms: list[PassageTerms] | None = None,
) -> list[RankedPassage]:
    """The top_k passages for the query by fused BM25 + embedding ranks (BM25 alone without an encoder).
    `cache` (the run's) keeps each passage's terms and vector for the next prompt that finds it; `keys`
    are the passages' `text_key`s when the caller has them (its cuts'), `query_vector` the query's
    `encoder.encode([query])` when it was encoded with others, `terms` the passages' `passage_terms` when the
    caller has them (its cuts')."""
    cache = cache or PassageCache()
    keys = keys if keys is not None else [text_key(passage) for passage in passages]
    lexical = bm25_ranking(query, passages, cache, keys, terms)
    semantic = embedding_ranking(query, passages, encoder, cache, keys, query_vector) if encoder is not None else []
    return fused_top(lexical, semantic, top_k)


def rank_candidates(query: str, candidates: CandidateSet, encoder: TextEncoder | None, top_k: int,
                    cache: PassageCache, query_vector: np.ndarray | None = None) -> list[RankedPassage]:
    """`hybrid_rank(query, [c.text for c in candidates], encoder, top_k, cache, ...)`, the same ranks and
    scores, from the candidates' pages: each page's term postings and vectors read at once."""
    from sftgen.retrieval.bm25 import bm25_scores_of_pages, ranked_array, tokenize

    if not candidates:
        return []
    query_tokens = tokenize([query])[0]
    lexical: Ranking = []
    if query_tokens:
        lexical = ranked_array(bm25_scores_of_pages(query_tokens, candidates.pages, candidates.lengths))
    semantic: Ranking = []
    if encoder is not None:
        passage_vectors = candidates.vectors(cache, encoder)
        query_row = (encoder.encode([query]) if query_vector is None else query_vector)[0]
        similarities = passage_vectors @ query_row.astype(passage_vectors.dtype, copy=False)
        semantic = np.argsort(-similarities, kind="stable")  # fused_top reads it as it is
    return fused_top(lexical, semantic, top_k)


def fused_top(lexical: Ranking, semantic: Ranking, top_k: int) -> list[RankedPassage]:
    """The top_k candidates by the RRF of the two rankings (each a list or an array of distinct candidate
    positions), ties by candidate position: the scores and the order `reciprocal_rank_fusion([lexical,
    semantic])` sorted by (-score, index) gives, the same floats (1/(k + lexical rank) + 1/(k + semantic
    rank), added in that order), without a dict per prompt."""
    lexical, semantic = np.asarray(lexical, dtype=np.intp), np.asarray(semantic, dtype=np.intp)
    size = 1 + max(lexical.max(initial=-1), semantic.max(initial=-1))
    reciprocals, positions = rank_terms(max(len(lexical), len(semantic)))
    scores = np.zeros(size)
    ranks = np.zeros((2, size), dtype=np.intp)  # 0: not in that ranking
    scores[lexical] = reciprocals[: len(lexical)]  # 0 + x is x: the dict's first addition
    scores[semantic] += reciprocals[: len(semantic)]
    ranks[0, lexical] = positions[: len(lexical)]
    ranks[1, semantic] = positions[: len(semantic)]
    # Every ranked candidate's score is > 0 and the others' 0: a stable sort puts the ranked first, ties by position.
    best = np.argsort(-scores, kind="stable")[: max(top_k, 0)]
    best = best[scores[best] > 0]
    return [RankedPassage(index, score, lexical_rank or None, semantic_rank or None) for index, score, lexical_rank,
            semantic_rank in zip(best.tolist(), scores[best].tolist(), *ranks[:, best].tolist())]


def rank_terms(length: int) -> tuple[np.ndarray, np.ndarray]:
    """At least `length` of 1/(RRF_K + rank) and of the ranks 1, 2, ..."""
    return _rank_terms(max(256, 1 << (length - 1).bit_length()))


@lru_cache(maxsize=None)  # one table per power of two: a few in a run
def _rank_terms(length: int) -> tuple[np.ndarray, np.ndarray]:
    positions = np.arange(1, length + 1)
    return 1.0 / (RRF_K + positions), positions
