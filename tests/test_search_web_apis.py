"""The keyed web API (Brave) against a local fake of its HTTP API, DuckDuckGo (ddgs) through an injected
client, and the factory that picks a backend from the recipe. No network leaves 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from sftgen.recipe import Recipe
from sftgen.search import SearchError, make_search_backend
from sftgen.search.brave import BraveBackend
from sftgen.search.duckduckgo import DuckDuckGoBackend
from sftgen.search.local_bm25 import LocalBM25Backend
from sftgen.search.searxng import SearxngBackend
from tests.support.local_http import serving

KEY = "test-key-123"
BRAVE_RESULTS = [
    {"url": "https://a.example/quarks", "title": "Quarks", "description": "Six flavours."},
    {"url": "https://b.example/gluons", "title": "Gluons", "description": "Eight gluons."},
    {"url": "https://a.example/quarks", "title": "Quarks again", "description": "A duplicate URL."},
    {"url": "https://c.example/pions", "title": "Pions", "description": "Light mesons."},
]


def brave_app(seen: list[dict]) -> web.Application:
    """Answers like Brave's /res/v1/web/search: 401 without the key, `web.results` with it."""
    app = web.Application()

    async def search(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        if request.headers.get("X-Subscription-Token") != KEY:
            return web.json_response({"error": "unauthorized"}, status=401)
        if request.query["q"] == "overload":
            return web.json_response({"error": "rate"}, status=429)
        count = int(request.query.get("count", 20))
        return web.json_response({"type": "search", "web": {"results": BRAVE_RESULTS[:count]}})

    app.router.add_get("/res/v1/web/search", search)
    return app


def run(backend, query: str, k: int):
    async def go():
        try:
            return await backend.search(query, k)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_brave_sends_the_key_and_ranks_unique_urls():
    seen: list[dict] = []
    with serving(brave_app(seen)) as root:
        hits = run(BraveBackend(KEY, base_url=f"{root}/res/v1/web/search"), "quark flavours", 3)
    assert [h.url for h in hits] == ["https://a.example/quarks", "https://b.example/gluons"]
    assert hits[1].snippet == "Eight gluons." and hits[1].rank == 2 and hits[1].backend == "brave"
    assert seen[0]["q"] == "quark flavours" and seen[0]["count"] == "3"


def test_brave_errors_name_their_cause():
    with serving(brave_app([])) as root:
        url = f"{root}/res/v1/web/search"
        with pytest.raises(SearchError) as wrong_key:
            run(BraveBackend("wrong", base_url=url), "quarks", 3)
        with pytest.raises(SearchError) as limited:
            run(BraveBackend(KEY, base_url=url), "overload", 3)
    assert wrong_key.value.reason == "unauthorized" and "API key" in wrong_key.value.detail
    assert limited.value.reason == "rate_limited"
    with pytest.raises(SearchError, match="no API key"):
        BraveBackend("")


class RecordingDDGS:
    """Stands in for ddgs.DDGS (which would reach the internet): records calls, returns ddgs-shaped rows."""

    def __init__(self, rows=None, error: Exception | None = None):
        self.rows, self.error, self.calls = rows or [], error, []

    def text(self, query, **kwargs):
        self.calls.append((query, kwargs))
        if self.error:
            raise self.error
        return self.rows[: kwargs["max_results"]]


def test_duckduckgo_maps_ddgs_rows_to_hits():
    client = RecordingDDGS([{"title": "Quarks", "href": "https://a.example/q", "body": "Six."},
                            {"title": "Gluons", "href": "https://b.example/g", "body": "Eight."}])
    backend = DuckDuckGoBackend(region="de-de", safesearch="off", client_factory=lambda: client)
    hits = run(backend, "quarks", 5)
    assert [(h.url, h.title, h.snippet, h.rank) for h in hits] == [
        ("https://a.example/q", "Quarks", "Six.", 1), ("https://b.example/g", "Gluons", "Eight.", 2)]
    assert client.calls == [("quarks", {"region": "de-de", "safesearch": "off", "max_results": 5})]


def test_duckduckgo_no_results_is_empty_and_rate_limits_are_errors():
    from ddgs.exceptions import DDGSException, RatelimitException

    empty = DuckDuckGoBackend(client_factory=lambda: RecordingDDGS(error=DDGSException("No results found.")))
    assert run(empty, "zzz", 3) == []
    limited = DuckDuckGoBackend(client_factory=lambda: RecordingDDGS(error=RatelimitException("202 Ratelimit")))
    with pytest.raises(SearchError) as error:
        run(limited, "quarks", 3)
    assert error.value.reason == "rate_limited"


def recipe(research: dict) -> Recipe:
    return Recipe.model_validate({
        "domain": {"name": "physics", "subdomains": [{"name": "quarks", "share": 1.0}]},
        "research": research,
    })


def test_factory_builds_the_backend_the_recipe_names(monkeypatch, tmp_path: Path):
    local = make_search_backend(recipe({"local": {"corpus": "my-corpus"}}), tmp_path)
    assert isinstance(local, LocalBM25Backend) and local.corpus_path == tmp_path / "my-corpus"
    searx = make_search_backend(recipe({"backend": "searxng", "searxng": {"base_url": "http://127.0.0.1:9/"}}), tmp_path)
    assert isinstance(searx, SearxngBackend) and searx.base_url == "http://127.0.0.1:9"
    asyncio.run(searx.aclose())
    assert isinstance(make_search_backend(recipe({"backend": "duckduckgo"}), tmp_path), DuckDuckGoBackend)
    monkeypatch.delenv("MY_BRAVE_KEY", raising=False)
    keyed = recipe({"backend": "brave", "brave": {"api_key_env": "MY_BRAVE_KEY"}})
    with pytest.raises(SearchError, match=r"\$MY_BRAVE_KEY is not set"):
        make_search_backend(keyed, tmp_path)
    monkeypatch.setenv("MY_BRAVE_KEY", KEY)
    brave = make_search_backend(keyed, tmp_path)
    assert isinstance(brave, BraveBackend) and brave.api_key == KEY
    asyncio.run(brave.aclose())
    assert make_search_backend(recipe({}), tmp_path, backend="duckduckgo").name == "duckduckgo"


def test_validate_names_research_problems(monkeypatch, tmp_path: Path):
    from sftgen.project import Project
    from sftgen.research.validate import research_problems
    from tests.support.projects import TINY_RECIPE, make_project

    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    said: list[str] = []
    local = make_project(tmp_path / "local", {}, {**TINY_RECIPE, "research": {
        "enabled": True, "local": {"corpus": "missing-corpus"}, "url_lists": ["urls.txt"]}})
    problems = research_problems(Project.open(local), said.append)
    assert any("research.local.corpus: 'missing-corpus' does not exist" in p for p in problems)
    assert any("research.url_lists: 'urls.txt' does not exist" in p for p in problems)
    keyed = make_project(tmp_path / "brave", {}, {**TINY_RECIPE, "research": {
        "enabled": True, "backend": "brave", "brave": {"api_key_env": "NO_SUCH_KEY_VAR"}}})
    assert research_problems(Project.open(keyed), said.append) == [
        "research.backend brave: research.brave.api_key_env: $NO_SUCH_KEY_VAR is not set"]
