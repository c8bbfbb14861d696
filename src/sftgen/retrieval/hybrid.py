"""Hybrid retrieval: rank candidate passages against a query by BM25 and by embedding similarity,
then fuse the two rankings with reciprocal rank fusion (RRF), which needs no score calibration:
score(p) = sum over rankings of 1 / (k + rank_in_that_ranking(p)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

RRF_K = 60
"""The usual RRF constant: it damps the weight of the very top ranks so one ranking cannot dominate."""


class TextEncoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class RankedPassage:
    index: int
    """Position in the candidate list."""
    score: float
    """The fused RRF score."""
    bm25_rank: int | None
    embedding_rank: int | None


def bm25_ranking(query: str, passages: list[str]) -> list[int]:
    """Candidate indexes by BM25 score, best first; passages sharing no term with the query are left out."""
    import bm25s

    if not passages:
        return []
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(passages, stopwords="en", show_progress=False), show_progress=False)
    query_tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
    if not any(len(ids) for ids in query_tokens.ids):
        return []
    indexes, scores = retriever.retrieve(query_tokens, k=len(passages), show_progress=False)
    return [int(i) for i, s in zip(indexes[0], scores[0]) if s > 0]


def embedding_ranking(query: str, passages: list[str], encoder: TextEncoder) -> list[int]:
    """Candidate indexes by cosine similarity to the query (the encoder's vectors are L2-normalised)."""
    if not passages:
        return []
    vectors = encoder.encode([query, *passages])
    similarities = vectors[1:] @ vectors[0]
    return [int(i) for i in np.argsort(-similarities, kind="stable")]


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, index in enumerate(ranking, start=1):
            fused[index] = fused.get(index, 0.0) + 1.0 / (k + rank)
    return fused


def hybrid_rank(query: str, passages: list[str], encoder: TextEncoder | None, top_k: int) -> list[RankedPassage]:
    """The top_k passages for the query by fused BM25 + embedding ranks (BM25 alone without an encoder)."""
    lexical = bm25_ranking(query, passages)
    semantic = embedding_ranking(query, passages, encoder) if encoder is not None else []
    fused = reciprocal_rank_fusion([lexical, semantic])
    lexical_rank = {index: rank for rank, index in enumerate(lexical, start=1)}
    semantic_rank = {index: rank for rank, index in enumerate(semantic, start=1)}
    best = sorted(fused, key=lambda index: (-fused[index], index))[:top_k]
    return [RankedPassage(i, fused[i], lexical_rank.get(i), semantic_rank.get(i)) for i in best]
