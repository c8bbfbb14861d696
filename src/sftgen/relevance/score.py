"""A chunk's relevance score: its highest cosine with the recipe's domain and each subdomain, written as
"name: description" (the texts the subdomain matcher embeds too), from the run's static embedder."""

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


class RelevanceScorer:
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
