"""Normalising a profile's subdomain to one of the recipe's subdomain names, checked against the content.

Small models pick the first option they are shown more often than the right one, so a name the LLM gives
is not taken on trust: the passage's content (the profile's topic and summary and the chunk's opening) is
embedded and compared with every subdomain's "name: description". An exact (case- and space-insensitive)
name is kept when the content is about as close to it as to the closest subdomain (within
`profiles.subdomain_margin`); else the closest one is taken (method `content`). "none" is the LLM saying
the passage fits no subdomain. Any other text is matched by embedding similarity of the name itself."""

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
    method: str  # exact | content | embedding | nearest | none | none_chosen
    similarity: float
    nearest: str


NONE_NAMES = {"none", "none of these", "none of them", "no subdomain", "n a"}
CONTENT_CHARS = 600
"""How much of the chunk joins the topic and summary in the content compared with the subdomains."""


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

    def similarities(self, text: str) -> np.ndarray:
        import numpy as np

        return self.vectors() @ np.asarray(self.embedder.encode([text]), dtype=np.float32)[0]

    def match(self, raw: str, topic: str = "", content: str = "") -> SubdomainMatch:
        import numpy as np

        exact = self.by_canonical.get(canonical(raw))
        if exact is None and canonical(raw) in NONE_NAMES:
            return SubdomainMatch(None, "none_chosen", 0.0, "")
        if exact is not None:
            if not content:
                return SubdomainMatch(exact, "exact", 1.0, exact)
            similarities = self.similarities(content)
            best = int(np.argmax(similarities))
            named = [sub.name for sub in self.subdomains].index(exact)
            if similarities[named] >= similarities[best] - self.settings.subdomain_margin:
                return SubdomainMatch(exact, "exact", float(similarities[named]), self.subdomains[best].name)
            closest = self.subdomains[best].name
            return SubdomainMatch(closest, "content", float(similarities[best]), closest)
        query = f"{raw}: {topic}" if topic else raw
        similarities = self.similarities(query)
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
    """Loads the embedder when the first profile is matched, not when the pipeline is built."""

    def __init__(self, loader):
        self.loader = loader
        self.embedder = None

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            self.embedder = self.loader()
        return self.embedder.encode(texts)
