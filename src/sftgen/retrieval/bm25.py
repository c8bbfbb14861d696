"""BM25 over one prompt's candidate passages, from term counts kept per passage text.

The scores are the ones `bm25s.BM25()` (its defaults: Lucene variant, k1 1.5, b 0.75, float32) gives
when it indexes the candidates, bit for bit, and the order is its top-k selection's; but no index is
built per prompt: a passage's terms are counted once (the cache keeps them across prompts) and only
the query's terms are scored. tests/test_retrieval_cache.py pins the equality against bm25s itself.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class PassageTerms:
    """A passage's term counts (bm25s tokens: lowercased words of 2+ characters, English stopwords out)."""

    counts: dict[str, int]
    length: int


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    if not texts:
        return []
    return bm25s.tokenize(texts, stopwords="en", show_progress=False, return_ids=False)


def passage_terms(texts: list[str]) -> list[PassageTerms]:
    out = []
    for tokens in tokenize(texts):
        counts: dict[str, int] = {}
        for token in tokens:
            token = sys.intern(token)  # the same words recur across passages: one string each
            counts[token] = counts.get(token, 0) + 1
        out.append(PassageTerms(counts, len(tokens)))
    return out


def bm25_scores(query_tokens: list[str], docs: list[PassageTerms]) -> np.ndarray:
    """float32 score per doc. Computed with bm25s's operations in its order (its per-document
    expression in float64, stored as float32, summed in float32 over the query's tokens in order), so
    the values are equal, not only close."""
    scores = np.zeros(len(docs), dtype=np.float32)
    if not docs:
        return scores
    lengths = np.array([doc.length for doc in docs])
    average = lengths.mean()
    n = len(docs)
    for token in query_tokens:
        hits = [i for i, doc in enumerate(docs) if token in doc.counts]
        if not hits:
            continue
        df = len(hits)
        idf = np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))
        tf = np.array([docs[i].counts[token] for i in hits], dtype=np.float32)
        tfc = tf / (K1 * ((1 - B) + B * lengths[hits] / average) + tf)
        scores[hits] += (idf * tfc).astype(np.float32)
    return scores


def ranked_by_score(scores: np.ndarray) -> list[int]:
    """Indexes with a positive score, best first, ties in the order bm25s's selection gives them."""
    from bm25s.selection import topk

    if not len(scores):
        return []
    top_scores, indexes = topk(scores, k=len(scores), sorted=True, backend="auto")
    return [int(i) for i, s in zip(indexes, top_scores) if s > 0]
