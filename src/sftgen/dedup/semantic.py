"""Semantic duplicates: L2-normalised embeddings in a faiss index (inner product = cosine); each new text
looks at its nearest neighbours and is a duplicate of the most similar one kept before it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sftgen.recipe.dedup_settings import Dedup

EXACT_SEARCH_UP_TO = 50_000
"""Below this many texts a flat (exact) index is fast enough; above it an HNSW graph (approximate)."""


def semantic_duplicates(
    texts: Sequence[str], alive: list[int], n_anchors: int, settings: Dedup, embedder
) -> dict[int, tuple[int, float]]:
    new_positions = [p for p, index in enumerate(alive) if index >= n_anchors]
    if not new_positions:
        return {}
    vectors = embedder.encode([texts[i] for i in alive])
    neighbours, similarities = nearest(vectors, new_positions, settings.semantic_neighbours + 1)
    kept = np.ones(len(alive), dtype=bool)
    found: dict[int, tuple[int, float]] = {}
    for row, position in enumerate(new_positions):  # ascending: earlier decisions are final
        best: tuple[int, float] | None = None
        for other, similarity in zip(neighbours[row], similarities[row]):
            if 0 <= other < position and kept[other] and similarity >= settings.semantic_threshold:
                if best is None or similarity > best[1] or (similarity == best[1] and other < best[0]):
                    best = (int(other), float(similarity))
        if best is not None:
            kept[position] = False
            found[alive[position]] = (alive[best[0]], best[1])
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
