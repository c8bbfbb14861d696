"""The semantic method's first pass (each new text against the texts before it, in numpy) only saves the
faiss search of texts with no earlier neighbour near the threshold: the candidates are those a search of
every new text gives."""

from __future__ import annotations

import numpy as np
import pytest

from sftgen.dedup import semantic
from sftgen.recipe.dedup_settings import Dedup


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def planted(count: int, look_alikes: int, seed: int) -> np.ndarray:
    """Random unit vectors, `look_alikes` of them moved close to an earlier one: some just above the
    threshold, some just below, some identical."""
    rng = np.random.default_rng(seed)
    vectors = unit(rng.standard_normal((count, 64)))
    for _ in range(look_alikes):
        earlier, later = sorted(rng.choice(count, size=2, replace=False))
        vectors[later] = unit((vectors[earlier] + rng.uniform(0.0, 0.5) * vectors[later])[None, :])[0]
    return vectors


def all_searched(vectors: np.ndarray, new_positions: list[int], settings: Dedup) -> list[list[tuple[float, int]]]:
    """The candidates as they were found before the first pass: every new text searched."""
    neighbours, similarities = semantic.nearest(vectors, new_positions, settings.semantic_neighbours + 1)
    return [sorted((-float(s), int(o)) for o, s in zip(neighbours[row], similarities[row])
                   if 0 <= o < position and s >= settings.semantic_threshold)
            for row, position in enumerate(new_positions)]


def same_candidates(found, expected) -> bool:
    """The same earlier texts, each at a similarity equal to faiss's within float32 rounding (faiss's own
    values move by an ulp with the other queries of its batch)."""
    return all([o for _, o in a] == [o for _, o in b] and np.allclose([s for s, _ in a], [s for s, _ in b], atol=1e-6)
               for a, b in zip(found, expected, strict=True))


@pytest.mark.parametrize("look_alikes", [0, 40, 900])
def test_first_pass_keeps_every_candidate_a_full_search_finds(look_alikes):
    vectors = planted(1500, look_alikes, seed=look_alikes)
    settings = Dedup(methods=["semantic"], semantic_threshold=0.9)
    new_positions = list(range(200, 1500))  # the first 200: anchors, never queried
    expected = all_searched(vectors, new_positions, settings)
    assert same_candidates(semantic.candidate_rows(vectors, new_positions, settings), expected)
    if look_alikes:
        assert any(expected)


def test_only_texts_with_an_earlier_look_alike_are_searched():
    vectors = planted(1500, 40, seed=3)
    searched = semantic.with_earlier_neighbour(vectors, list(range(1500)), 0.9 - semantic.MARGIN)
    similarities = vectors @ vectors.T
    expected = [p for p in range(1500) if p and similarities[p, :p].max() >= 0.9 - semantic.MARGIN]
    assert searched == expected and 0 < len(searched) < 100


def test_many_look_alikes_search_every_new_text():
    vectors = planted(1500, 1400, seed=5)
    assert semantic.with_earlier_neighbour(vectors, list(range(1500)), 0.5) == list(range(1500))
