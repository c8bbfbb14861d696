"""SearxNG / searx: the usual self-hosted metasearch, through its JSON API (`/search?q=...&format=json`).

The instance must allow the json format (searxng: `search.formats: [html, json]`).
"""

from __future__ import annotations

import httpx

from sftgen.search.base import SearchError, SearchHit, ranked
from sftgen.search.web_json import get_json


class SearxngBackend:
    name = "searxng"

    def __init__(self, base_url: str, categories: str = "general", language: str = "", timeout_s: float = 20,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.categories = categories
        self.language = language
        self.client = httpx.AsyncClient(timeout=timeout_s, transport=transport, follow_redirects=True)

    async def search(self, query: str, k: int, snippets: bool = True) -> list[SearchHit]:
        params = {"q": query, "format": "json", "categories": self.categories}
        if self.language:
            params["language"] = self.language
        data = await get_json(self.client, f"{self.base_url}/search", params, headers={}, backend=self.name)
        results = data.get("results")
        if not isinstance(results, list):
            raise SearchError("bad_reply", f"searxng at {self.base_url}: reply has no 'results' list")
        hits = [(r.get("url", ""), r.get("title", ""), r.get("content", "")) for r in results if isinstance(r, dict)]
        return ranked(hits, self.name, k)

    async def aclose(self) -> None:
        await self.client.aclose()
