"""Semantic duplicates: L2-normalised embeddings in a faiss index (inner product = cosine); each new text
looks at its nearest neighbours kept before it. A neighbour at or above `semantic_threshold` is a
candidate; with `content_check` on, a candidate is a duplicate only when the two texts also agree on
their content words (sftgen.dedup.content), which tells a paraphrase from a same-template prompt about
something else. The most similar candidate that passes wins; the recorded similarity is the cosine.
Only the new texts are embedded: the anchors' embeddings come with the corpus."""

from __future__ import annotations

import numpy as np

from sftgen.recipe.dedup_settings import Dedup

EXACT_SEARCH_UP_TO = 50_000
"""Below this many texts a flat (exact) index is fast enough; above it an HNSW graph (approximate)."""


def semantic_duplicates(corpus, alive: list[int], settings: Dedup, agreement=None) -> dict[int, tuple[int, float]]:
    new_positions = [p for p, index in enumerate(alive) if index >= corpus.n_anchors]
    if not new_positions:
        return {}
    vectors = corpus.vectors(alive)
    neighbours, similarities = nearest(vectors, new_positions, settings.semantic_neighbours + 1)
    rows = []
    for row, position in enumerate(new_positions):
        rows.append(sorted(
            (-float(similarity), int(other))  # most similar first, ties to the earliest
            for other, similarity in zip(neighbours[row], similarities[row])
            if 0 <= other < position and similarity >= settings.semantic_threshold
        ))
    if agreement is not None:  # the words of every pair that may be compared, encoded in one call
        agreement.prepare({alive[p] for p in new_positions} | {alive[o] for row in rows for _, o in row})
    kept = np.ones(len(alive), dtype=bool)
    found: dict[int, tuple[int, float]] = {}
    for position, candidates in zip(new_positions, rows):  # ascending: earlier decisions are final
        for negative_similarity, other in candidates:
            if not kept[other]:
                continue
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
