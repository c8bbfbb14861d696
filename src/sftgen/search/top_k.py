"""The k best documents of BM25 queries over a bm25s index, read straight from its score columns: what
`retriever.retrieve` gives for each query, value for value and in its order, without its per-call checks
and conversions; and for a batch of queries, their columns summed in one numpy call."""

from __future__ import annotations

import bm25s
import numpy as np
from bm25s.selection import JAX_IS_AVAILABLE, topk

BATCH_CELLS = 4_000_000
"""Scores held at once when queries are scored together (queries x documents, float32): 16 MB."""


def term_ids(retriever: bm25s.BM25, terms: list[str]) -> list[int]:
    vocabulary = retriever.vocab_dict
    return [vocabulary[term] for term in terms if term in vocabulary]


def query_top_k(retriever: bm25s.BM25, terms: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, document indexes) of the k best documents, best first: the same sums of the index's per-term
    scores in float32, in the query's term order, and bm25s's own top-k selection. Only the index columns
    of the query's terms are read."""
    index = retriever.scores
    data, rows, starts = index["data"], index["indices"], index["indptr"]
    ids = term_ids(retriever, terms)
    scores = np.zeros(index["num_docs"], dtype=retriever.dtype)
    for term_id in ids:
        start, end = starts[term_id], starts[term_id + 1]
        scores[rows[start:end]] += data[start:end]  # a column holds each document once: the same as np.add.at
    if retriever.nonoccurrence_array is not None:  # BM25L / BM25+ (not the default Lucene variant)
        scores += retriever.nonoccurrence_array[np.asarray(ids, dtype=retriever.int_dtype)].sum()
    return topk(scores, k=k, sorted=True, backend="auto")


def queries_top_k(retriever: bm25s.BM25, queries: list[tuple[list[str], int]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """`query_top_k` of each (terms, k), the queries' columns summed together: one `np.add.at` adds every
    term's column into its query's row in the order given, so each document's score is the same float32 sum
    in the same order, and each row's top k is bm25s's selection (its numpy path, row by row). BM25L / BM25+
    and a JAX top-k go query by query."""
    if retriever.nonoccurrence_array is not None or JAX_IS_AVAILABLE or len(queries) < 2:
        return [query_top_k(retriever, terms, k) for terms, k in queries]
    index = retriever.scores
    data, rows, starts = index["data"], index["indices"], index["indptr"]
    documents = int(index["num_docs"])
    per_batch = max(1, BATCH_CELLS // max(documents, 1))
    results: list[tuple[np.ndarray, np.ndarray]] = []
    for first in range(0, len(queries), per_batch):
        part = queries[first : first + per_batch]
        cells, values = [], []
        for row, (terms, _) in enumerate(part):
            for term_id in term_ids(retriever, terms):
                start, end = starts[term_id], starts[term_id + 1]
                cells.append(rows[start:end].astype(np.int64) + row * documents)
                values.append(data[start:end])
        scores = np.zeros(len(part) * documents, dtype=retriever.dtype)
        if cells:
            np.add.at(scores, np.concatenate(cells), np.concatenate(values))
        table = scores.reshape(len(part), documents)
        results.extend(topk(table[row], k=k, sorted=True, backend="numpy") for row, (_, k) in enumerate(part))
    return results
