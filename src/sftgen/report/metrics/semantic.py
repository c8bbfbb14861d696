"""Semantic diversity from L2-normalised embeddings (cosine distance = 1 - dot product).

- mean pairwise distance: over all pairs i < j of the sample;
- mean nearest-neighbour distance: each text's distance to its closest other text, averaged;
- a 2-D map by PCA (numpy SVD, on one thread) for the report's scatter plot;
- copy check: the share of texts whose nearest reference text is closer than a threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

BLOCK = 2048


def pairwise_metrics(vectors: np.ndarray) -> dict[str, Any]:
    n = len(vectors)
    if n < 2:
        return {"n": n, "mean_pairwise_distance": None, "mean_nn_distance": None}
    vectors = vectors.astype(np.float32, copy=False)
    total, nearest = 0.0, np.empty(n, dtype=np.float64)
    for start in range(0, n, BLOCK):
        sims = vectors[start:start + BLOCK] @ vectors.T
        rows = np.arange(sims.shape[0])
        total += float(sims.sum()) - float(sims[rows, rows + start].sum())
        sims[rows, rows + start] = -np.inf
        nearest[start:start + BLOCK] = 1.0 - sims.max(axis=1)
    mean_similarity = total / (n * (n - 1))
    return {
        "n": n,
        "mean_pairwise_distance": round(1.0 - mean_similarity, 4),
        "mean_nn_distance": round(float(np.clip(nearest, 0, 2).mean()), 4),
    }


def nearest_distances(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine distance from each query row to its nearest reference row."""
    out = np.empty(len(queries), dtype=np.float64)
    for start in range(0, len(queries), BLOCK):
        out[start:start + BLOCK] = 1.0 - (queries[start:start + BLOCK] @ reference.T).max(axis=1)
    return np.clip(out, 0, 2)


def copy_check(queries: np.ndarray, reference: np.ndarray, threshold: float) -> dict[str, Any]:
    if len(queries) == 0 or len(reference) == 0:
        return {"n": len(queries), "threshold": threshold, "share_below": None, "count_below": 0}
    distances = nearest_distances(queries, reference)
    below = int((distances < threshold).sum())
    return {
        "n": len(queries), "threshold": threshold, "count_below": below,
        "share_below": round(below / len(queries), 4),
        "mean_nn_distance_to_reference": round(float(distances.mean()), 4),
    }


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    if len(vectors) == 0:
        return np.zeros((0, 2))
    centred = vectors - vectors.mean(axis=0)
    # One BLAS thread: the SVD of 2,000 x 256 takes 0.1 s on one, and 3-6 s on two of a 2-core machine that
    # other work shares (OpenBLAS's threads wait on each other); the components are the same.
    with threadpool_limits(limits=1):
        _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    if projected.shape[1] < 2:
        projected = np.hstack([projected, np.zeros((len(projected), 2 - projected.shape[1]))])
    return projected
