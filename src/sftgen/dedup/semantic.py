"""Semantic duplicates: L2-normalised embeddings in a faiss index (inner product = cosine); each new text
looks at its nearest neighbours kept before it. A neighbour at or above `semantic_threshold` is a
candidate; with `content_check` on, a candidate is a duplicate only when the two texts also agree on
their content words (sftgen.dedup.content), which tells a paraphrase from a same-template prompt about
something else. The most similar candidate that passes wins; the recorded similarity is the cosine.
Only the new texts are embedded: the anchors' embeddings come with the corpus.

Most texts have no earlier neighbour near the threshold: a first pass over the lower triangle of the
similarities (each new text against the texts before it, in numpy blocks: half the products of a search
over all) finds the texts that have one, within a margin far wider than float32 rounding, and only those are
searched in faiss; a text with none has no candidate either way."""

from __future__ import annotations

import numpy as np

from sftgen.recipe.dedup_settings import Dedup

EXACT_SEARCH_UP_TO = 50_000
"""Below this many texts a flat (exact) index is fast enough; above it an HNSW graph (approximate)."""
MARGIN = 1e-3
"""Below the threshold by this much, an earlier text is near enough to search for: float32 sums of 256-1,024
products of unit vectors differ from faiss's by about 1e-6 at most."""
BLOCK_ROWS = 256
"""New texts per block of the first pass: 256 rows of similarities to 20,000 texts are 20 MB."""


def semantic_duplicates(corpus, alive: list[int], settings: Dedup, agreement=None) -> dict[int, tuple[int, float]]:
    new_positions = [p for p, index in enumerate(alive) if index >= corpus.n_anchors]
    if not new_positions:
        return {}
    rows = candidate_rows(corpus.vectors(alive), new_positions, settings)
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


def candidate_rows(vectors: np.ndarray, new_positions: list[int], settings: Dedup) -> list[list[tuple[float, int]]]:
    """For each new position, its candidates: (-similarity, earlier position) of its nearest neighbours
    before it at or above the threshold, most similar first, ties to the earliest."""
    searched = with_earlier_neighbour(vectors, new_positions, settings.semantic_threshold - MARGIN)
    neighbours, similarities = nearest(vectors, searched, settings.semantic_neighbours + 1)
    row_of = {position: row for row, position in enumerate(searched)}
    rows = []
    for position in new_positions:
        row = row_of.get(position)
        rows.append([] if row is None else sorted(
            (-float(similarity), int(other))
            for other, similarity in zip(neighbours[row], similarities[row])
            if 0 <= other < position and similarity >= settings.semantic_threshold
        ))
    return rows


def with_earlier_neighbour(vectors: np.ndarray, positions: list[int], at_least: float) -> list[int]:
    """The positions (ascending) whose vector has an inner product of `at_least` or more with a vector
    before it; all of them above EXACT_SEARCH_UP_TO texts (the graph index is searched for all), or once
    more than a quarter of the first thousand or more have one (then the first pass costs more than it saves;
    it is left early, when it has cost little)."""
    if len(vectors) > EXACT_SEARCH_UP_TO or not positions:
        return positions
    found: list[int] = []
    for start in range(0, len(positions), BLOCK_ROWS):
        block = np.asarray(positions[start : start + BLOCK_ROWS], dtype=np.int64)
        earlier = int(block[-1])
        if not earlier:
            continue
        similarities = vectors[block] @ vectors[:earlier].T
        first = int(block[0])  # the texts before the block's first are before each of its texts
        tail = similarities[:, first:]
        tail[np.arange(first, earlier)[None, :] >= block[:, None]] = -np.inf  # only the texts before each
        found.extend(block[(similarities >= at_least).any(axis=1)].tolist())
        done = start + len(block)
        if done >= 1024 and len(found) > done // 4:
            return positions
    return found


def nearest(vectors: np.ndarray, query_positions: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    count, dim = vectors.shape
    k = min(k, count)
    if not query_positions:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    if count <= EXACT_SEARCH_UP_TO:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = max(64, 2 * k)
    index.add(np.ascontiguousarray(vectors))
    similarities, neighbours = index.search(np.ascontiguousarray(vectors[query_positions]), k)
    return neighbours, similarities
