"""The searxng backend against a real searx (Debian's `searx` package, installed by
scripts/install-test-deps.sh) started on 127.0.0.1. Its only engine is searx's `json_engine`, pointed
at a tiny corpus server this test runs, so the whole search stays on loopback."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from aiohttp import web

from sftgen.search import SearchError
from sftgen.search.searxng import SearxngBackend
from tests.support.local_http import free_port, serving

SEARX_RUN = shutil.which("searx-run")
STARTUP_S = 60

CORPUS = [
    {"url": "https://physics.example/quarks", "title": "Quark flavours",
     "content": "There are six quark flavours: up, down, strange, charm, bottom, top."},
    {"url": "https://physics.example/gluons", "title": "Gluons and colour",
     "content": "Gluons carry colour charge and bind quarks into hadrons."},
    {"url": "https://physics.example/pions", "title": "Pions",
     "content": "Pions are the lightest mesons, made of up and down quarks."},
]


def corpus_app() -> web.Application:
    """A search API over CORPUS: documents ranked by how many query words they contain."""
    app = web.Application()

    async def search(request: web.Request) -> web.Response:
        words = set(request.query.get("q", "").lower().split())
        scored = [(sum(w in (d["title"] + " " + d["content"]).lower() for w in words), i, d)
                  for i, d in enumerate(CORPUS)]
        hits = [d for score, _, d in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]
        return web.json_response({"results": hits})

    app.router.add_get("/search", search)
    return app


def searx_settings(port: int, corpus_url: str) -> dict:
    return {
        "use_default_settings": False,
        "general": {"debug": False, "instance_name": "sftgen-test", "contact_url": False, "enable_stats": False},
        "brand": {key: "" for key in ("git_url", "git_branch", "issue_url", "docs_url", "public_instances",
                                       "wiki_url", "twitter_url")},
        "search": {"safe_search": 0, "autocomplete": "", "default_lang": "", "ban_time_on_fail": 0,
                   "max_ban_time_on_fail": 0, "prefer_configured_language": False, "formats": ["html", "json"]},
        "server": {"port": port, "bind_address": "127.0.0.1", "secret_key": "test-only", "base_url": False,
                   "image_proxy": False, "http_protocol_version": "1.0", "method": "GET", "default_http_headers": {}},
        "ui": {"autofocus": False, "archive_today": False, "static_path": "/usr/share/python3-searx/static",
               "templates_path": "/usr/share/python3-searx/templates", "default_theme": "oscar",
               "default_locale": "", "theme_args": {"oscar_style": "logicodev"}},
        "outgoing": {"request_timeout": 5.0, "useragent_suffix": "", "pool_connections": 10, "pool_maxsize": 10},
        "checker": {"off_when_debug": True},
        "engines": [{
            "name": "localcorpus", "engine": "json_engine", "shortcut": "lc", "categories": "general",
            "search_url": corpus_url + "/search?q={query}", "results_query": "results", "url_query": "url",
            "title_query": "title", "content_query": "content", "timeout": 5.0, "enable_http": True,
        }],
        "locales": {"en": "English"},
        "doi_resolvers": {"doi.org": "https://doi.org/"},
        "default_doi_resolver": "doi.org",
    }


@pytest.fixture(scope="module")
def searx(tmp_path_factory) -> Iterator[str]:
    if SEARX_RUN is None:
        pytest.skip("searx is not installed: run scripts/install-test-deps.sh")
    folder: Path = tmp_path_factory.mktemp("searx")
    port = free_port()
    with serving(corpus_app()) as corpus_url:
        settings = folder / "settings.yml"
        settings.write_text(yaml.safe_dump(searx_settings(port, corpus_url)), encoding="utf-8")
        env = {**os.environ, "SEARX_SETTINGS_PATH": str(settings)}
        log = (folder / "searx.log").open("wb")
        process = subprocess.Popen([SEARX_RUN], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base_url, process, folder / "searx.log")
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def wait_until_up(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"searx exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/search", params={"q": "x", "format": "json"}, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"searx did not answer within {STARTUP_S}s:\n{log.read_text(errors='replace')[-3000:]}")


def search(base_url: str, query: str, k: int = 5):
    async def go():
        backend = SearxngBackend(base_url, timeout_s=10)
        try:
            return await backend.search(query, k)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_searx_answers_with_the_corpus_ranked(searx):
    hits = search(searx, "gluons colour charge")
    assert hits[0].url == "https://physics.example/gluons"
    assert hits[0].title == "Gluons and colour" and "colour charge" in hits[0].snippet
    assert all(hit.backend == "searxng" for hit in hits)
    assert [hit.rank for hit in hits] == list(range(1, len(hits) + 1))


def test_k_caps_the_hits(searx):
    assert len(search(searx, "quarks up down", k=5)) >= 2
    assert len(search(searx, "quarks up down", k=1)) == 1


def test_a_query_nothing_matches_gives_no_hits(searx):
    assert search(searx, "photosynthesis") == []


def test_an_instance_that_is_not_there_is_a_search_error():
    with pytest.raises(SearchError) as error:
        search(f"http://127.0.0.1:{free_port()}", "quarks")
    assert error.value.reason == "unreachable"
