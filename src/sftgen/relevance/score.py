"""A chunk's relevance score, from the run's static embedder, one of two kinds:

- from the recipe's words (`DescriptionScorer`): the highest cosine with the domain and each subdomain,
  written as "name: description" (the texts the subdomain matcher embeds too);
- from labelled examples (`ExampleScorer`, when `relevance.examples` names a sample in the project): the
  cosine with the centroid of the relevant examples minus that with the centroid of the others. On real
  news text this tells the domain apart better than the recipe's words (bench/relevance_gate.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from sftgen.recipe import Recipe

if TYPE_CHECKING:
    import numpy as np


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


def anchor_texts(recipe: Recipe) -> list[str]:
    """The domain first, then each subdomain."""
    def text(name: str, description: str) -> str:
        return f"{name}: {description}" if description else name

    domain = recipe.domain
    return [text(domain.name, domain.description)] + [text(s.name, s.description) for s in domain.subdomains]


class DescriptionScorer:
    def __init__(self, recipe: Recipe, embedder: Encoder):
        self.anchors_text = anchor_texts(recipe)
        self.embedder = embedder
        self._anchors: np.ndarray | None = None

    def anchors(self) -> np.ndarray:
        if self._anchors is None:
            self._anchors = unit_rows(self.embedder.encode(self.anchors_text))
        return self._anchors

    def scores(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        similarities = unit_rows(self.embedder.encode(list(texts))) @ self.anchors().T
        return [round(float(value), 4) for value in similarities.max(axis=1)]

    def score(self, text: str) -> float:
        return self.scores([text])[0]


def unit_rows(vectors) -> np.ndarray:
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class ExampleScorer:
    def __init__(self, relevant: Sequence[str], other: Sequence[str], embedder: Encoder):
        if not relevant or not other:
            raise ValueError("example scoring needs relevant and other examples")
        self.embedder = embedder
        self.relevant_texts, self.other_texts = list(relevant), list(other)
        self._centroids: np.ndarray | None = None

    def centroids(self) -> np.ndarray:
        if self._centroids is None:
            import numpy as np

            relevant = unit_rows(self.embedder.encode(self.relevant_texts)).mean(axis=0)
            other = unit_rows(self.embedder.encode(self.other_texts)).mean(axis=0)
            self._centroids = np.stack([relevant, other])
        return self._centroids

    def scores(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        similarities = unit_rows(self.embedder.encode(list(texts))) @ self.centroids().T
        return [round(float(value), 4) for value in similarities[:, 0] - similarities[:, 1]]

    def score(self, text: str) -> float:
        return self.scores([text])[0]


def cross_fitted_example_scores(texts: Sequence[str], relevant: Sequence[bool], embedder: Encoder,
                                folds: int = 5, seed: int = 0) -> list[float]:
    """Each labelled text scored by centroids made from the other folds, so a band fitted on these scores
    is not fitted on the texts that made the centroids."""
    import numpy as np

    vectors = unit_rows(embedder.encode(list(texts)))
    labels = np.asarray(relevant, dtype=bool)
    scores = np.zeros(len(texts))
    order = np.random.default_rng(seed).permutation(len(texts))
    for fold in np.array_split(order, min(folds, len(texts))):
        rest = np.setdiff1d(order, fold)
        inside, outside = rest[labels[rest]], rest[~labels[rest]]
        if len(inside) == 0 or len(outside) == 0:
            inside, outside = np.flatnonzero(labels), np.flatnonzero(~labels)
        centroids = np.stack([vectors[inside].mean(axis=0), vectors[outside].mean(axis=0)])
        similarities = vectors[fold] @ centroids.T
        scores[fold] = similarities[:, 0] - similarities[:, 1]
    return [round(float(value), 4) for value in scores]
