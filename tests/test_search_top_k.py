"""The local search's top k read straight from the bm25s index: query by query and a turn's queries scored
together give what bm25s's own `retrieve` gives, score for score and in its order."""

from __future__ import annotations

import asyncio

import bm25s
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.search.bm25_text import bm25_terms, text_terms
from sftgen.search.local_bm25 import LocalBM25Backend
from sftgen.search.top_k import queries_top_k, query_top_k

WORDS = ["quark", "gluon", "hadron", "colour", "charge", "flavour", "lattice", "mass", "spin", "top", "charm",
         "meson", "baryon", "pion", "decay", "field"]
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)


def indexed(documents: list[str]) -> bm25s.BM25:
    retriever = bm25s.BM25()
    retriever.index(bm25_terms(documents), show_progress=False)
    return retriever


def retrieved(retriever: bm25s.BM25, terms: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    indices, scores = retriever.retrieve([terms], k=k, show_progress=False, n_threads=0)
    return scores[0], indices[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(texts, min_size=1, max_size=30), st.lists(texts, min_size=1, max_size=20), st.data())
def test_queries_scored_together_get_bm25s_own_top_k(documents, queries, data):
    retriever = indexed(documents)
    known = [[term for term in text_terms(query) if term in retriever.vocab_dict] for query in queries]
    asked = [(terms, data.draw(st.integers(1, len(documents)))) for terms in known if terms]
    together = queries_top_k(retriever, asked)
    assert len(together) == len(asked)
    for (terms, k), (scores, indices) in zip(asked, together):
        alone = query_top_k(retriever, terms, k)
        assert np.array_equal(scores, alone[0]) and np.array_equal(indices, alone[1])
        expected_scores, expected_indices = retrieved(retriever, terms, k)
        assert np.array_equal(scores, expected_scores) and np.array_equal(indices, expected_indices)


def test_a_turn_of_searches_gets_the_hits_each_search_gets_alone(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(12):
        (corpus / f"page-{n}.md").write_text(f"# Page {n}\n\n" + " ".join(WORDS[(n + i) % len(WORDS)] for i in range(n + 3)),
                                             encoding="utf-8")
    backend = LocalBM25Backend(corpus, tmp_path)
    queries = ["quark colour charge", "what is a pion decay", "the of and", "lattice mass of the top", "meson"]

    async def together():
        return await asyncio.gather(*(backend.search(query, 4) for query in queries))

    turn = asyncio.run(together())
    assert turn == [backend.search_now(query, 4) for query in queries]
    assert turn[2] == [] and all(turn[i] for i in (0, 1, 3, 4))
    assert backend.search_all([("quark", 0, True), ("quark", 2, False)]) == [[], backend.search_now("quark", 2, False)]
