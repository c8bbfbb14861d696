"""What the steps of one run share: made on first use, closed once when the run ends (by `open_run`).

- one fetcher: URL lists, research and the answer search fetch through it, so per-host limits and the
  page cache hold run-wide;
- the search backends, by name (research's and the answer half's are one when they name the same);
- the embedder (dedup, the subdomain matcher, retrieval);
- the run's state that a domain module keeps for the steps (the quota ledger, the research budget and
  plan, the rephrase opener plan, the subdomain matcher): one instance of each class, asked for by its class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sftgen.embed import Embedder, load_embedder
from sftgen.recipe import Recipe

if TYPE_CHECKING:  # httpx, trafilatura and bm25s load when a page is first fetched or searched
    from sftgen.fetch import Fetcher
    from sftgen.search import SearchBackend

log = logging.getLogger("sftgen.run")
T = TypeVar("T")


class RunServices:
    def __init__(self, recipe: Recipe, project_dir: Path):
        self.recipe = recipe
        self.project_dir = project_dir
        self._fetcher: Fetcher | None = None
        self._search: dict[str, SearchBackend] = {}
        self._embedder: Embedder | None = None
        self._state: dict[type, object] = {}

    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            from sftgen.fetch import make_fetcher

            self._fetcher = make_fetcher(self.recipe, self.project_dir)
        return self._fetcher

    def search(self, backend: str | None = None) -> SearchBackend:
        """The search backend of this name (None: `research.backend`)."""
        name = backend or self.recipe.research.backend
        if name not in self._search:
            from sftgen.search import make_search_backend

            self._search[name] = make_search_backend(self.recipe, self.project_dir, backend=name)
        return self._search[name]

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder()
        return self._embedder

    def state(self, kind: type[T], make: Callable[[], T]) -> T:
        """The run's one `kind` (a QuotaLedger, a ResearchBudget...), made by `make` on first use."""
        held = self._state.get(kind)
        if held is None:
            held = self._state[kind] = make()
        return held  # type: ignore[return-value]

    def peek(self, kind: type[T]) -> T | None:
        """The run's `kind` if one was made, without making it."""
        return self._state.get(kind)  # type: ignore[return-value]

    def forget(self, kind: type) -> None:
        """The next `state(kind, ...)` makes a new one (the quota ledger after profiles were reopened)."""
        self._state.pop(kind, None)

    async def aclose(self) -> None:
        """Close the fetcher and the search backends. Best effort: the run's results are committed already."""
        services = ([self._fetcher] if self._fetcher is not None else []) + list(self._search.values())
        self._fetcher, self._search = None, {}
        for service in services:
            try:
                await service.aclose()
            except Exception:
                log.debug("closing %r failed", service, exc_info=True)
