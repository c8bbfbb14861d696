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
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class PassageTerms:
    """A passage's term counts (bm25s tokens: lowercased words of 2+ characters, English stopwords out)."""

    counts: dict[str, int]
    length: int
    ids: np.ndarray = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    """The counted terms' numbers (`term_number`), in the order of `counts`."""
    tallies: np.ndarray = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    """Their counts, likewise: a prompt's candidates are scored with numpy, not a lookup per term and passage."""

    def __post_init__(self) -> None:
        if self.ids is None:
            object.__setattr__(self, "ids", term_numbers(list(self.counts)))
            object.__setattr__(self, "tallies", np.fromiter(self.counts.values(), dtype=np.int64, count=len(self.counts)))


_TERM_NUMBERS: dict[str, int] = {}
"""Every term counted in this process, numbered in the order first seen (the words of the pages ranked)."""
_NUMBERING = threading.Lock()  # ranking runs in worker threads


def term_numbers(terms: list[str]) -> np.ndarray:
    numbers = _TERM_NUMBERS
    with _NUMBERING:
        return np.fromiter((numbers.setdefault(term, len(numbers)) for term in terms), dtype=np.int64, count=len(terms))


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
    scores = np.zeros(len(docs), dtype=np.float32)
    if not docs:
        return scores
    terms = list(dict.fromkeys(query_tokens))
    tf = term_frequencies(terms, docs)
    lengths_list = [doc.length for doc in docs]
    lengths = np.array(lengths_list)
    average = sum(lengths_list) / len(lengths_list)  # integers: the exact sum, divided as numpy's mean does
    n = len(docs)
    df = np.count_nonzero(tf, axis=0).tolist()
    idf = np.array([math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df], dtype=np.float32)
    tfc = tf / (K1 * ((1 - B) + B * lengths[:, None] / average) + tf)
    contributions = (idf.astype(np.float64) * tfc).astype(np.float32)
    column = {term: index for index, term in enumerate(terms)}
    for token in query_tokens:
        if token in column:
            scores += contributions[:, column[token]]
    return scores


def term_frequencies(terms: list[str], docs: list[PassageTerms]) -> np.ndarray:
    """(docs, terms) float32 counts of each of the distinct `terms` in each doc, from the docs' term numbers:
    every doc's (number, count) pairs at once, those of the query's terms kept."""
    tf = np.zeros((len(docs), len(terms)), dtype=np.float32)
    with _NUMBERING:
        wanted = [(_TERM_NUMBERS[term], column) for column, term in enumerate(terms) if term in _TERM_NUMBERS]
    if not wanted:
        return tf
    top = max(number for number, _ in wanted)
    column_of = np.full(top + 2, -1, dtype=np.int64)  # a term number -> its column; top + 1: any other term
    for number, column in wanted:
        column_of[number] = column
    ids = np.concatenate([doc.ids for doc in docs])
    columns = column_of[np.minimum(ids, top + 1)]
    found = np.flatnonzero(columns >= 0)
    rows = np.repeat(np.arange(len(docs)), [len(doc.ids) for doc in docs])
    tf[rows[found], columns[found]] = np.concatenate([doc.tallies for doc in docs])[found]
    return tf


def ranked_by_score(scores: np.ndarray) -> list[int]:
    """Indexes with a positive score, best first, ties in the order bm25s's selection gives them."""
    return ranked_indexes(scores).tolist()


def ranked_indexes(scores: np.ndarray) -> np.ndarray:
    """`ranked_by_score` as an array."""
    from bm25s.selection import topk

    if not len(scores):
        return np.zeros(0, dtype=np.int64)
    top_scores, indexes = topk(scores, k=len(scores), sorted=True, backend="auto")
    return indexes[top_scores > 0]
