"""A chunk's relevance score, from the run's static embedder, one of two kinds:

- from the recipe's words (`DescriptionScorer`): the highest cosine with the domain and each subdomain,
  written as "name: description" (the texts the subdomain matcher embeds too);
- from labelled examples (`ExampleScorer`, when `relevance.examples` names a sample in the project): the
  cosine with the centroid of the relevant examples minus that with the centroid of the others. On real
  news text this tells the domain apart better than the recipe's words (bench/relevance_gate.py);
- from labelled examples by a linear probe (`ProbeScorer`, `relevance.fit: probe`; relevance/probe.py),
  better still on noisy text.

`cross_fitted_scores` scores a labelled sample each text by a scorer made without its fold, for the
calibration."""

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


class Scorer:
    def scores(self, texts: Sequence[str]) -> list[float]:
        raise NotImplementedError

    def score(self, text: str) -> float:
        return self.scores([text])[0]


class DescriptionScorer(Scorer):
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


def unit_rows(vectors) -> np.ndarray:
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class ExampleScorer(Scorer):
    def __init__(self, relevant: Sequence[str], other: Sequence[str], embedder: Encoder):
        if not relevant or not other:
            raise ValueError("example scoring needs relevant and other examples")
        self.embedder = embedder
        self.relevant_texts, self.other_texts = list(relevant), list(other)
        self._vectors: np.ndarray | None = None

    def training(self) -> tuple[np.ndarray, list[bool]]:
        if self._vectors is None:
            self._vectors = unit_rows(self.embedder.encode(self.relevant_texts + self.other_texts))
        return self._vectors, [True] * len(self.relevant_texts) + [False] * len(self.other_texts)

    def scores(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        train, labels = self.training()
        values = centroid_difference(train, labels, unit_rows(self.embedder.encode(list(texts))))
        return [round(float(value), 4) for value in values]


class ProbeScorer(Scorer):
    def __init__(self, relevant: Sequence[str], other: Sequence[str], embedder: Encoder):
        if not relevant or not other:
            raise ValueError("a probe needs relevant and other examples")
        self.embedder = embedder
        self.texts, self.labels = [*relevant, *other], [True] * len(relevant) + [False] * len(other)
        self._fit: tuple | None = None

    def fitted(self) -> tuple:
        if self._fit is None:
            from sftgen.relevance.probe import fit_logistic

            self._fit = fit_logistic(unit_rows(self.embedder.encode(self.texts)), self.labels)
        return self._fit

    def scores(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        from sftgen.relevance.probe import probe_scores

        weights, intercept = self.fitted()
        values = probe_scores(weights, intercept, unit_rows(self.embedder.encode(list(texts))))
        return [round(float(value), 4) for value in values]


def cross_fitted_scores(fit: str, texts: Sequence[str], relevant: Sequence[bool], embedder: Encoder) -> list[float]:
    """`fit` "centroids" or "probe": each labelled text scored without its fold."""
    if fit == "probe":
        from sftgen.relevance.probe import cross_fitted_probe_scores

        values = cross_fitted_probe_scores(unit_rows(embedder.encode(list(texts))), relevant)
        return [round(float(value), 4) for value in values]
    return cross_fitted_example_scores(texts, relevant, embedder)


def cross_fitted_example_scores(texts: Sequence[str], relevant: Sequence[bool], embedder: Encoder,
                                folds: int = 5, seed: int = 0) -> list[float]:
    """Each labelled text scored by centroids made from the other folds, so a band fitted on these scores
    is not fitted on the texts that made the centroids."""
    values = cross_fitted_centroid_scores(unit_rows(embedder.encode(list(texts))), relevant, folds, seed)
    return [round(float(value), 4) for value in values]


def centroid_difference(train: np.ndarray, labels: Sequence[bool], vectors: np.ndarray) -> np.ndarray:
    """Per row of `vectors` (unit rows), its cosine with the mean of the relevant `train` rows minus that
    with the mean of the others."""
    import numpy as np

    labels = np.asarray(labels, dtype=bool)
    return vectors @ train[labels].mean(axis=0) - vectors @ train[~labels].mean(axis=0)


def cross_fitted_centroid_scores(vectors: np.ndarray, relevant: Sequence[bool], folds: int = 5,
                                 seed: int = 0) -> np.ndarray:
    from sftgen.relevance.folds import cross_fitted

    return cross_fitted(vectors, relevant, centroid_difference, folds, seed)
