"""Normalising a free-text subdomain to one of the recipe's subdomain names: an exact (case- and
space-insensitive) match first, then embedding similarity to each name with its description."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sftgen.recipe import Recipe
from sftgen.core.context import RunContext

if TYPE_CHECKING:  # numpy loads when a subdomain is matched by embeddings, not with the pipeline
    import numpy as np

@dataclass
class SubdomainMatch:
    name: str | None
    """The recipe's subdomain name, or None when nothing is close enough."""
    method: str  # exact | embedding | nearest | none
    similarity: float
    nearest: str


def canonical(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


class SubdomainMatcher:
    def __init__(self, recipe: Recipe, embedder):
        self.subdomains = recipe.domain.subdomains
        self.by_canonical = {canonical(sub.name): sub.name for sub in self.subdomains}
        self.settings = recipe.profiles
        self.embedder = embedder
        self._vectors: np.ndarray | None = None

    def vectors(self) -> np.ndarray:
        import numpy as np

        if self._vectors is None:
            texts = [f"{sub.name}: {sub.description}" if sub.description else sub.name for sub in self.subdomains]
            self._vectors = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        return self._vectors

    def match(self, raw: str, topic: str = "") -> SubdomainMatch:
        exact = self.by_canonical.get(canonical(raw))
        if exact is not None:
            return SubdomainMatch(exact, "exact", 1.0, exact)
        import numpy as np

        query = f"{raw}: {topic}" if topic else raw
        similarities = self.vectors() @ np.asarray(self.embedder.encode([query]), dtype=np.float32)[0]
        best = int(np.argmax(similarities))
        nearest, similarity = self.subdomains[best].name, float(similarities[best])
        if similarity >= self.settings.subdomain_min_similarity:
            return SubdomainMatch(nearest, "embedding", similarity, nearest)
        if self.settings.unmatched_subdomain == "nearest":
            return SubdomainMatch(nearest, "nearest", similarity, nearest)
        return SubdomainMatch(None, "none", similarity, nearest)


def matcher_for(ctx: RunContext) -> SubdomainMatcher:
    """One matcher per run, over the run's embedder."""
    return ctx.services.state(SubdomainMatcher,
                              lambda: SubdomainMatcher(ctx.recipe, LazyEmbedder(ctx.services.embedder)))


class LazyEmbedder:
    """Loads the embedder on first use: most profiles name their subdomain exactly and never need it."""

    def __init__(self, loader):
        self.loader = loader
        self.embedder = None

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            self.embedder = self.loader()
        return self.embedder.encode(texts)
