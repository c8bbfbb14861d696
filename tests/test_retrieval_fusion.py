"""fused_top (numpy) against the dict RRF it replaced: the same candidates, order, scores and ranks, ties included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.retrieval.hybrid import RankedPassage, fused_top, reciprocal_rank_fusion


def dict_fused_top(lexical: list[int], semantic: list[int], top_k: int) -> list[RankedPassage]:
    """fused_top as it was: reciprocal_rank_fusion's dict, sorted by (-score, index)."""
    fused = reciprocal_rank_fusion([lexical, semantic])
    lexical_rank = {index: rank for rank, index in enumerate(lexical, start=1)}
    semantic_rank = {index: rank for rank, index in enumerate(semantic, start=1)}
    best = sorted(fused, key=lambda index: (-fused[index], index))[:top_k]
    return [RankedPassage(i, fused[i], lexical_rank.get(i), semantic_rank.get(i)) for i in best]


@st.composite
def rankings(draw) -> tuple[list[int], list[int], int]:
    """A BM25 ranking (some of the candidates, in any order), an embedding ranking (all of them, some, or none:
    no encoder) and a top_k, over up to 40 candidates."""
    size = draw(st.integers(0, 40))
    candidates = st.permutations(range(size))
    lexical = draw(candidates)[: draw(st.integers(0, size))]
    semantic = draw(st.one_of(candidates, st.just([]), candidates.flatmap(lambda order: st.just(order[: size // 2]))))
    return lexical, semantic, draw(st.integers(0, size + 2))


@settings(max_examples=500)
@given(rankings())
def test_fused_top_is_the_dict_fusion(case: tuple[list[int], list[int], int]) -> None:
    lexical, semantic, top_k = case
    expected = dict_fused_top(lexical, semantic, top_k)
    assert fused_top(lexical, semantic, top_k) == expected
    assert fused_top(np.array(lexical, dtype=np.int64), np.array(semantic, dtype=np.int64), top_k) == expected


def test_crossed_ranks_tie_and_the_earlier_candidate_comes_first() -> None:
    # 2 and 5 swap ranks between the two rankings: the same score, exactly.
    top = fused_top([5, 2, 0], [2, 5, 0], 3)
    assert [hit.index for hit in top] == [2, 5, 0]
    assert top[0].score == top[1].score
    assert (top[0].bm25_rank, top[0].embedding_rank) == (2, 1)


def test_a_candidate_in_neither_ranking_is_left_out() -> None:
    assert [hit.index for hit in fused_top([3], [], 5)] == [3]
    assert fused_top([], [], 5) == []
