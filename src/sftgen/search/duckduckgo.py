"""DuckDuckGo (and the other engines `ddgs` aggregates) through the `ddgs` package, without an API key.

`ddgs` is synchronous, so each search runs in a worker thread. `client_factory` makes the DDGS
client; tests give one that answers without the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from sftgen.search.base import SearchError, SearchHit, ranked


class TextSearcher(Protocol):
    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...


def default_client_factory(timeout_s: float) -> Callable[[], TextSearcher]:
    def make() -> TextSearcher:
        from ddgs import DDGS  # imported on use: the search extra is optional

        return DDGS(timeout=int(max(1, timeout_s)))

    return make


class DuckDuckGoBackend:
    name = "duckduckgo"

    def __init__(self, region: str = "wt-wt", safesearch: str = "moderate", timeout_s: float = 20,
                 client_factory: Callable[[], TextSearcher] | None = None):
        self.region = region
        self.safesearch = safesearch
        self.client_factory = client_factory or default_client_factory(timeout_s)

    async def search(self, query: str, k: int, snippets: bool = True) -> list[SearchHit]:
        rows = await asyncio.to_thread(self.search_now, query, k)
        hits = [(r.get("href") or r.get("url") or "", r.get("title", ""), r.get("body", "")) for r in rows
                if isinstance(r, dict)]
        return ranked(hits, self.name, k)

    def search_now(self, query: str, k: int) -> list[dict[str, Any]]:
        try:
            from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException
        except ImportError as exc:
            raise SearchError("not_installed", "duckduckgo: install the search extra (pip install 'sftgen[search]')") from exc
        try:
            return self.client_factory().text(query, region=self.region, safesearch=self.safesearch, max_results=k)
        except RatelimitException as exc:
            raise SearchError("rate_limited", f"duckduckgo: {exc}") from exc
        except TimeoutException as exc:
            raise SearchError("timeout", f"duckduckgo: {exc}") from exc
        except DDGSException as exc:
            if "no results" in str(exc).lower():
                return []
            raise SearchError("search_failed", f"duckduckgo: {exc}") from exc

    async def aclose(self) -> None:
        pass
