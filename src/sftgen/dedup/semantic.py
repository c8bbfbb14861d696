"""Semantic duplicates: L2-normalised embeddings in a faiss index (inner product = cosine); each new text
looks at its nearest neighbours kept before it. A neighbour at or above `semantic_threshold` is a
candidate; with `content_check` on, a candidate is a duplicate only when the two texts also agree on
their content words (sftgen.dedup.content), which tells a paraphrase from a same-template prompt about
something else. The most similar candidate that passes wins; the recorded similarity is the cosine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sftgen.recipe.dedup_settings import Dedup

EXACT_SEARCH_UP_TO = 50_000
"""Below this many texts a flat (exact) index is fast enough; above it an HNSW graph (approximate)."""


def semantic_duplicates(
    texts: Sequence[str], alive: list[int], n_anchors: int, settings: Dedup, embedder, agreement=None
) -> dict[int, tuple[int, float]]:
    new_positions = [p for p, index in enumerate(alive) if index >= n_anchors]
    if not new_positions:
        return {}
    alive_texts = [texts[i] for i in alive]
    vectors = embedder.encode(alive_texts)
    neighbours, similarities = nearest(vectors, new_positions, settings.semantic_neighbours + 1)
    kept = np.ones(len(alive), dtype=bool)
    found: dict[int, tuple[int, float]] = {}
    for row, position in enumerate(new_positions):  # ascending: earlier decisions are final
        candidates = sorted(
            (-float(similarity), int(other))  # most similar first, ties to the earliest
            for other, similarity in zip(neighbours[row], similarities[row])
            if 0 <= other < position and kept[other] and similarity >= settings.semantic_threshold
        )
        for negative_similarity, other in candidates:
            if agreement is None or agreement(alive[position], alive[other]) >= settings.content_threshold:
                kept[position] = False
                found[alive[position]] = (alive[other], -negative_similarity)
                break
    return found


def nearest(vectors: np.ndarray, query_positions: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    count, dim = vectors.shape
    k = min(k, count)
    if count <= EXACT_SEARCH_UP_TO:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = max(64, 2 * k)
    index.add(np.ascontiguousarray(vectors))
    similarities, neighbours = index.search(np.ascontiguousarray(vectors[query_positions]), k)
    return neighbours, similarities
