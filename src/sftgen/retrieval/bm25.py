"""BM25 over one prompt's candidate passages, from term counts kept per passage text.

The scores are the ones `bm25s.BM25()` (its defaults: Lucene variant, k1 1.5, b 0.75, float32) gives
when it indexes the candidates, bit for bit, and the order is its top-k selection's; but no index is
built per prompt: a passage's terms are counted once (the cache keeps them across prompts) and only
the query's terms are scored. tests/test_retrieval_cache.py pins the equality against bm25s itself.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class PassageTerms:
    """A passage's term counts (bm25s tokens: lowercased words of 2+ characters, English stopwords out)."""

    counts: dict[str, int]
    length: int


class Postings(Protocol):
    """A page's cuts' postings (passage_cache.PageCuts): term -> (the cut's position, the term's count in it)."""

    postings: dict[str, list[tuple[int, int]]]


WORDS = re.compile(r"(?u)\b\w\w+\b")
"""bm25s.tokenize's default token pattern."""


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(texts: list[str]) -> list[list[str]]:
    """The tokens `bm25s.tokenize(texts, stopwords="en", return_ids=False)` gives (lowercased, the same pattern,
    the same stop words), without the vocabulary and stop-word set it builds on each call."""
    stopwords = english_stopwords()
    return [[word for word in WORDS.findall(text.lower()) if word not in stopwords] for text in texts]


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
    the values are equal, not only close: all the query's distinct terms at once, a document without a
    term adding an exact 0 for it."""
    if not docs:
        return np.zeros(0, dtype=np.float32)
    terms = list(dict.fromkeys(query_tokens))
    columns = [[doc.counts.get(term, 0) for doc in docs] for term in terms]  # one pass per term, not per doc
    return scores_of_columns(query_tokens, terms, columns, [doc.length for doc in docs])


def bm25_scores_of_pages(query_tokens: list[str], pages: list[tuple[Postings, list[int]]],
                         lengths: list[int]) -> np.ndarray:
    """`bm25_scores` of the candidates `pages` make: each page's cuts with, per cut, its position among the
    candidates (-1: not one of them), `lengths` the candidates' token counts. A term's counts come from
    each page's postings, not from a look-up per candidate."""
    terms, columns = [], []
    for term in dict.fromkeys(query_tokens):
        column = None
        for page, positions in pages:
            for local, count in page.postings.get(term, ()):
                position = positions[local]
                if position >= 0:
                    if column is None:
                        column = [0] * len(lengths)
                    column[position] = count
        if column is not None:
            terms.append(term)
            columns.append(column)
    if not terms:
        return np.zeros(len(lengths), dtype=np.float32)
    # A term no candidate holds adds an exact +0 to every score (its idf is positive, its tf 0): left out,
    # the others' order kept, the sums are the same bits.
    return scores_of_columns([token for token in query_tokens if token in terms], terms, columns, lengths)


def scores_of_columns(query_tokens: list[str], terms: list[str], columns: list[list[int]],
                      lengths_list: list[int]) -> np.ndarray:
    """The scores from each distinct query term's count in each doc (`columns`, one per term of `terms`)."""
    scores = np.zeros(len(lengths_list), dtype=np.float32)
    tf = np.array(columns, dtype=np.float32).T
    lengths = np.array(lengths_list)
    average = sum(lengths_list) / len(lengths_list)  # integers: the exact sum, divided as numpy's mean does
    if average == 0:  # every candidate is empty: no term is in any (and 0 / 0 would be NaN)
        return scores
    n = len(lengths_list)
    df = [len(column) - column.count(0) for column in columns]
    idf = np.array([math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df], dtype=np.float32)
    tfc = tf / (K1 * ((1 - B) + B * lengths[:, None] / average) + tf)
    contributions = (idf.astype(np.float64) * tfc).astype(np.float32)
    column = {term: index for index, term in enumerate(terms)}
    for token in query_tokens:
        if token in column:
            scores += contributions[:, column[token]]
    return scores


def ranked_by_score(scores: np.ndarray) -> list[int]:
    """Indexes with a positive score, best first, ties in the order bm25s's selection gives them."""
    return ranked_array(scores).tolist()


def ranked_array(scores: np.ndarray) -> np.ndarray:
    """`ranked_by_score` as an array."""
    from bm25s.selection import topk

    if not len(scores):
        return np.zeros(0, dtype=np.intp)
    top_scores, indexes = topk(scores, k=len(scores), sorted=True, backend="auto")
    return indexes[top_scores > 0]
