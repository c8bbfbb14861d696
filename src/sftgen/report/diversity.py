"""Diversity of a set of texts on a sample: lexical and semantic metrics, lengths, and a 2-D map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sftgen.report.metrics.lexical import length_metrics, lexical_metrics
from sftgen.report.metrics.semantic import pairwise_metrics, pca_2d

DEFAULT_SAMPLE = 2000


def sample_indices(n: int, size: int, seed: int = 0) -> np.ndarray:
    """A fixed random sample (the same on every run) of `size` positions out of `n`, in order."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


@dataclass
class TextSet:
    """A sampled set of texts with their embeddings (None without an embedder)."""

    name: str
    total: int
    texts: list[str]
    labels: list[str]
    vectors: np.ndarray | None


def sampled_set(name: str, texts: list[str], labels: list[str] | None, size: int, embedder) -> TextSet:
    chosen = sample_indices(len(texts), size)
    sample = [texts[i] for i in chosen]
    sample_labels = [labels[i] for i in chosen] if labels else ["" for _ in chosen]
    vectors = embedder.encode(sample) if embedder is not None and sample else None
    return TextSet(name, len(texts), sample, sample_labels, vectors)


def diversity_metrics(text_set: TextSet) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "total": text_set.total, "sample_size": len(text_set.texts),
        "lexical": lexical_metrics(text_set.texts),
        "lengths": length_metrics(text_set.texts),
    }
    if text_set.vectors is not None:
        metrics["semantic"] = pairwise_metrics(text_set.vectors)
    return metrics


def embedding_map(text_set: TextSet) -> dict[str, Any] | None:
    if text_set.vectors is None or len(text_set.vectors) < 3:
        return None
    points = pca_2d(text_set.vectors)
    return {"x": points[:, 0].tolist(), "y": points[:, 1].tolist(), "labels": text_set.labels}
