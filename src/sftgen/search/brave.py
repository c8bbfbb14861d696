"""Brave Search API (web results); the key comes from the environment variable the recipe names."""

from __future__ import annotations

import httpx

from sftgen.search.base import SearchError, SearchHit, ranked
from sftgen.search.web_json import get_json

BRAVE_URL = "https://api.search.brave.com/res/v1/web/search"
BRAVE_MAX_COUNT = 20


class BraveBackend:
    name = "brave"

    def __init__(self, api_key: str, base_url: str = BRAVE_URL, country: str = "", timeout_s: float = 20,
                 transport: httpx.AsyncBaseTransport | None = None):
        if not api_key:
            raise SearchError("missing_api_key", "brave: no API key (set the variable research.brave.api_key_env names)")
        self.api_key = api_key
        self.base_url = base_url
        self.country = country
        self.client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def search(self, query: str, k: int, snippets: bool = True) -> list[SearchHit]:
        params = {"q": query, "count": max(1, min(k, BRAVE_MAX_COUNT))}
        if self.country:
            params["country"] = self.country
        headers = {"Accept": "application/json", "X-Subscription-Token": self.api_key}
        data = await get_json(self.client, self.base_url, params, headers, backend=self.name)
        web = data.get("web") or {}
        results = web.get("results", []) if isinstance(web, dict) else []
        if not isinstance(results, list):
            raise SearchError("bad_reply", "brave: 'web.results' is not a list")
        hits = [(r.get("url", ""), r.get("title", ""), r.get("description", "")) for r in results if isinstance(r, dict)]
        return ranked(hits, self.name, k)

    async def aclose(self) -> None:
        await self.client.aclose()
