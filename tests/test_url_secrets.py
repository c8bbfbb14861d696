"""Credentials in URLs are used for the request and kept nowhere: not in the store, the run logs, the
page cache (`.sftgen/pages/`), an export or a prompt. One function, `redact_url`, strips user info and
secret-looking query parameters wherever a URL is recorded."""

from __future__ import annotations

import asyncio
import base64

import pytest
from aiohttp import web
from typer.testing import CliRunner

from sftgen.cli import app as cli
from sftgen.fetch.redact import is_secret_parameter, redact_url, redact_urls_in
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project
from sftgen.store import open_store
from tests.support.local_http import serving
from tests.support.projects import TINY_RECIPE, make_project
from tests.test_url_lists import long_text

SECRETS = ("S3cret", "APIKEY123", "SIGVALUE987")


def secret_server(seen: list[dict]) -> web.Application:
    app = web.Application()

    async def wiki(request):
        seen.append({"authorization": request.headers.get("authorization"), "token": request.query.get("token")})
        raise web.HTTPFound("/wiki-final.txt?lang=en&signature=SIGVALUE987")

    async def final(request):
        seen.append({"signature": request.query.get("signature")})
        return web.Response(text=long_text("wiki page", 20), content_type="text/plain")

    app.router.add_get("/wiki.txt", wiki)
    app.router.add_get("/wiki-final.txt", final)
    return app


def files_holding(folder, needles) -> dict[str, list[str]]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [n for n in needles if n.encode() in data]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


def test_a_url_with_credentials_is_fetched_with_them_and_recorded_without(tmp_path):
    seen: list[dict] = []
    with serving(secret_server(seen)) as root:
        listed = root.replace("http://", "http://alice:S3cret@") + "/wiki.txt?token=APIKEY123&page=2"
        recipe = {**TINY_RECIPE, "research": {"url_lists": ["urls.txt"], "allow_private_addresses": True}}
        project = make_project(tmp_path / "p", {}, recipe)
        (project / "urls.txt").write_text(listed + "\n", encoding="utf-8")
        asyncio.run(run_project(Project.open(project), RunOptions(until="chunk")))
        for path in (project / ".sftgen").glob("store.db*"):  # a new store: the page comes from the cache
            path.unlink()
        asyncio.run(run_project(Project.open(project), RunOptions(until="chunk")))
    # the request itself carried them
    assert seen[0] == {"authorization": "Basic " + base64.b64encode(b"alice:S3cret").decode(), "token": "APIKEY123"}
    assert seen[1] == {"signature": "SIGVALUE987"}
    assert len(seen) == 2  # the second run read the cache, keyed on the redacted URL
    store = open_store(project)
    try:
        (document,) = store.emitted("url_list", kind="document")
        chunks = list(store.emitted("chunk", kind="chunk"))
        labels = [row["label"] for row in store.progress.rows("url_list")]
    finally:
        store.close()
    clean = f"{root}/wiki.txt?page=2"
    assert document.meta["url"] == document.meta["source"] == document.meta["title"] == clean
    assert document.meta["final_url"] == f"{root}/wiki-final.txt?lang=en"
    assert chunks and all(chunk.meta["url"] == clean for chunk in chunks)
    assert labels == [clean]
    out = tmp_path / "chunks.jsonl"
    result = CliRunner().invoke(cli, ["export", str(project), "--what", "chunks", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert clean in out.read_text()
    assert list((project / ".sftgen" / "pages").rglob("*.json"))
    assert files_holding(project, SECRETS) == {"urls.txt": ["S3cret", "APIKEY123"]}  # only the list itself
    assert files_holding(tmp_path, SECRETS) == {"p/urls.txt": ["S3cret", "APIKEY123"]}


@pytest.mark.parametrize("url, recorded", [
    ("http://alice:S3cret@example.org/a?token=1&q=quarks", "http://example.org/a?q=quarks"),
    ("https://example.org/?api_key=1&apikey=2&access_token=3&X-Amz-Signature=4&sig=5&auth=6&password=7"
     "&client_secret=8&refresh-token=9&page=2", "https://example.org/?page=2"),
    ("https://example.org/callback#access_token=abc&state=ok", "https://example.org/callback#state=ok"),
    ("https://example.org/?q=monkey&keyword=quark&passage=3", "https://example.org/?q=monkey&keyword=quark&passage=3"),
    ("https://user@example.org:8443/x", "https://example.org:8443/x"),
    ("http://[::1/?token=1", "http://[::1/"),  # malformed: still redacted
    ("local://corpus/notes.md#L3", "local://corpus/notes.md#L3"),
    ("https://example.org/a%20b?x=%2F", "https://example.org/a%20b?x=%2F"),  # kept exactly as written
])
def test_redact_url_strips_user_info_and_secret_parameters(url, recorded):
    assert redact_url(url) == recorded


def test_urls_in_a_message_are_redacted_and_the_rest_is_kept():
    message = "http://bob:pw@example.org/x?token=T: HTTP 404 (redirected from https://example.org/?key=K)."
    assert redact_urls_in(message) == "http://example.org/x: HTTP 404 (redirected from https://example.org/)."


def test_secret_parameter_names():
    assert all(map(is_secret_parameter, ["token", "KEY", "api_key", "Api-Key", "access_token", "sig", "X-Amz-Credential",
                                         "sessionid", "auth", "password", "secret"]))
    assert not any(map(is_secret_parameter, ["q", "page", "monkey", "keyword", "passage", "lang", "id"]))
