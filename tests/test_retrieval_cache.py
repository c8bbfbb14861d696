"""Passage ranking with the run's passage cache ranks exactly as ranking each prompt from scratch did:
a bm25s index built over the prompt's candidates, and the query encoded with its passages."""

from __future__ import annotations

import bm25s
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.retrieval import PassageCache, bm25_ranking, embedding_ranking, hybrid_rank
from sftgen.retrieval.hybrid import reciprocal_rank_fusion
from tests.support.embedder import embedder  # noqa: F401  (fixture)

WORDS = ["grid", "Grid", "voltage", "storage", "battery", "the", "of", "a", "reserve", "frequency", "x", "solar",
         "inverter", "peak", "load", "is", "and"]


def bm25s_ranking(query: str, passages: list[str]) -> list[int]:
    """Ranking as it was done per prompt before the cache: a bm25s index over the candidates."""
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(passages, stopwords="en", show_progress=False), show_progress=False)
    query_tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
    if not any(len(ids) for ids in query_tokens.ids):
        return []
    indexes, scores = retriever.retrieve(query_tokens, k=len(passages), show_progress=False)
    return [int(i) for i, s in zip(indexes[0], scores[0]) if s > 0]


def fresh_embedding_ranking(query: str, passages: list[str], encoder) -> list[int]:
    vectors = encoder.encode([query, *passages])
    return [int(i) for i in np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")]


texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(query=texts, passages=st.lists(texts, min_size=1, max_size=25).filter(lambda ps: any(bm25s.tokenize(ps, stopwords="en", show_progress=False, return_ids=False))))
def test_bm25_from_cached_terms_ranks_as_a_bm25s_index_does_ties_included(query, passages):
    cache = PassageCache()
    cache.terms(passages[::2])  # some passages known from an earlier prompt, some new
    assert bm25_ranking(query, passages, cache) == bm25s_ranking(query, passages)


@settings(max_examples=200, deadline=None)
@given(query=texts, passages=st.lists(texts, min_size=1, max_size=25).filter(lambda ps: any(bm25s.tokenize(ps, stopwords="en", show_progress=False, return_ids=False))))
def test_bm25_scores_are_a_bm25s_index_scores_bit_for_bit(query, passages):
    from sftgen.retrieval.bm25 import bm25_scores, passage_terms, tokenize

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(passages, stopwords="en", show_progress=False), show_progress=False)
    query_tokens = tokenize([query])[0]
    expected = retriever.get_scores(query_tokens) if query_tokens else np.zeros(len(passages), dtype=np.float32)
    scores = bm25_scores(query_tokens, passage_terms(passages))
    assert scores.dtype == np.float32 and scores.tobytes() == np.asarray(expected, dtype=np.float32).tobytes()


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
                | st.lists(st.sampled_from(WORDS + ["İstanbul", "straße", "ΣΊΣΥΦΟΣ", "naïve", "45_6", "x_y"]))
                .map(" ".join), max_size=8))
def test_passage_tokens_are_bm25s_tokens(passages):
    from sftgen.retrieval.bm25 import tokenize

    assert tokenize(passages) == bm25s.tokenize(passages, stopwords="en", show_progress=False, return_ids=False)


def test_a_shared_cache_ranks_every_prompt_as_ranking_it_alone(embedder):  # noqa: F811
    rng = np.random.default_rng(7)
    corpus = [" ".join(rng.choice(WORDS, size=int(rng.integers(5, 120)))) for _ in range(60)]
    cache = PassageCache()
    for _ in range(40):
        passages = [corpus[i] for i in rng.choice(len(corpus), size=int(rng.integers(3, 30)), replace=False)]
        query = " ".join(rng.choice(WORDS, size=8))
        assert embedding_ranking(query, passages, embedder, cache) == fresh_embedding_ranking(query, passages, embedder)
        expected = reciprocal_rank_fusion([bm25s_ranking(query, passages), fresh_embedding_ranking(query, passages, embedder)])
        ranked = hybrid_rank(query, passages, embedder, 5, cache)
        assert [hit.index for hit in ranked] == sorted(expected, key=lambda i: (-expected[i], i))[:5]
        assert [hit.score for hit in ranked] == [expected[hit.index] for hit in ranked]


class CountingEncoder:
    def __init__(self, inner):
        self.inner, self.encoded = inner, 0

    def encode(self, texts):
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_a_passage_is_encoded_once_per_run_and_the_cache_stays_bounded(embedder):  # noqa: F811
    counting = CountingEncoder(embedder)
    cache = PassageCache(limit=10)
    passages = [f"grid reserve {n} storage" for n in range(8)]
    for query in ["grid", "storage", "reserve peak"]:
        hybrid_rank(query, passages, counting, 3, cache)
    assert counting.encoded == 8 + 3  # the passages once, each query once

    cache.vectors([f"other text {n}" for n in range(30)], counting)
    assert len(cache._vectors.held) == 10


def test_prompts_ranked_together_rank_as_each_ranked_alone(embedder):  # noqa: F811
    import asyncio

    from sftgen.retrieval import BatchedRanker
    from sftgen.retrieval.passage_cache import text_key

    rng = np.random.default_rng(11)
    corpus = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 150)))) for _ in range(80)]
    prompts = []
    for _ in range(60):
        passages = [corpus[i] for i in rng.choice(len(corpus), size=int(rng.integers(1, 30)), replace=False)]
        prompts.append((" ".join(rng.choice(WORDS, size=int(rng.integers(1, 40)))), passages))
    ranker = BatchedRanker(PassageCache(), embedder)

    async def rank_all():
        return await asyncio.gather(*(ranker.rank(query, passages, [text_key(p) for p in passages], 5)
                                      for query, passages in prompts))

    together = asyncio.run(rank_all())
    alone = [hybrid_rank(query, passages, embedder, 5, PassageCache()) for query, passages in prompts]
    assert together == alone


def test_a_prompt_whose_ranking_fails_fails_alone():
    import asyncio

    from sftgen.retrieval import BatchedRanker

    class Refusing:
        def encode(self, texts):
            if any("poison" in text for text in texts):
                raise ValueError("cannot encode poison")
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    ranker = BatchedRanker(PassageCache(), Refusing())

    async def rank_both():
        return await asyncio.gather(ranker.rank("grid storage", ["grid storage battery"], [b"a"], 3),
                                    ranker.rank("poison", ["poison ivy"], [b"b"], 3), return_exceptions=True)

    fine, failed = asyncio.run(rank_both())
    assert [hit.index for hit in fine] == [0]
    assert isinstance(failed, ValueError) and "poison" in str(failed)
