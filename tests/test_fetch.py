"""The fetcher against a real HTTP server on 127.0.0.1: pages are cleaned; private addresses, oversized
pages, wrong content types, error statuses and redirect loops are refused with their reason codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from sftgen.fetch import Fetcher, FetchedPage
from sftgen.recipe.research_settings import Fetch
from tests.support.local_http import serving
from tests.test_ingest_readers import make_pdf

ARTICLE = (
    "<html><head><title>Colour confinement</title></head><body><nav>Home | About | Login</nav>"
    "<article><h1>Colour confinement</h1>"
    + "".join(f"<p>Quarks are never seen alone; paragraph {i} explains why the strong force grows with distance.</p>"
              for i in range(8))
    + "</article><footer>Copyright nobody</footer></body></html>"
)


def make_app() -> web.Application:
    app = web.Application()

    async def article(request):
        return web.Response(text=ARTICLE, content_type="text/html")

    async def plain(request):
        return web.Response(text="Gluons carry colour charge.\n\nThere are eight of them.", content_type="text/plain")

    async def huge(request):
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(200):
            await response.write(b"<p>" + b"x" * 1000 + b"</p>")
        return response

    async def image(request):
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="image/png")

    async def pdf(request):
        # Served as octet-stream: the fetcher recognises the PDF by its first bytes.
        body = make_pdf(["The strong coupling runs with the energy scale."], title="Running coupling")
        return web.Response(body=body, content_type="application/octet-stream")

    async def missing(request):
        return web.Response(status=404, text="no")

    async def loop(request):
        raise web.HTTPFound(f"/loop?n={int(request.query.get('n', 0)) + 1}")

    async def hop(request):
        raise web.HTTPFound("/article")

    async def slow(request):
        await asyncio.sleep(1.5)
        return web.Response(text="late", content_type="text/plain")

    for path, handler in [("/article", article), ("/plain", plain), ("/huge", huge), ("/image", image),
                          ("/missing", missing), ("/pdf", pdf), ("/loop", loop), ("/hop", hop), ("/slow", slow)]:
        app.router.add_get(path, handler)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(make_app()) as root:
        yield root


def fetch(url: str, allow_private: bool = True, cache_dir: Path | None = None, **settings) -> FetchedPage:
    async def go():
        async with Fetcher(Fetch(**settings), allow_private=allow_private, cache_dir=cache_dir) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


def test_html_page_is_cleaned_to_its_main_text(server):
    page = fetch(f"{server}/article")
    assert page.ok, page.detail
    assert page.format == "html" and page.title == "Colour confinement"
    assert "strong force grows with distance" in page.text
    assert "Login" not in page.text and "Copyright" not in page.text


def test_plain_text_is_kept_as_is(server):
    page = fetch(f"{server}/plain")
    assert page.ok and page.format == "txt"
    assert page.text == "Gluons carry colour charge.\n\nThere are eight of them."


def test_loopback_is_refused_unless_allowed(server):
    page = fetch(f"{server}/article", allow_private=False)
    assert not page.ok and page.reason == "private_address"
    assert "127.0.0.1" in page.detail


@pytest.mark.parametrize("url", ["http://10.1.2.3/x", "http://192.168.0.1/", "http://169.254.169.254/latest/",
                                 "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://localhost:1/"])
def test_private_and_link_local_addresses_are_refused_before_connecting(url):
    page = fetch(url, allow_private=False, timeout_s=2)
    assert (page.ok, page.reason) == (False, "private_address")


def test_oversized_page_is_refused_while_streaming(server):
    page = fetch(f"{server}/huge", max_page_mb=0.05)
    assert not page.ok and page.reason == "too_large"
    assert page.status_code == 200


def test_wrong_content_type_is_refused(server):
    page = fetch(f"{server}/image")
    assert (page.ok, page.reason) == (False, "wrong_content_type")
    assert "image/png" in page.detail


def test_pdf_is_recognised_by_its_bytes_and_read(server):
    page = fetch(f"{server}/pdf")
    assert page.ok and page.format == "pdf" and page.title == "Running coupling"
    assert "strong coupling runs" in page.text


def test_content_types_the_recipe_leaves_out_are_refused(server):
    page = fetch(f"{server}/plain", content_types=["html", "pdf"])
    assert (page.ok, page.reason) == (False, "wrong_content_type")


def test_http_errors_are_refused_with_the_status(server):
    page = fetch(f"{server}/missing")
    assert (page.ok, page.reason, page.status_code) == (False, "http_error", 404)


def test_redirects_are_followed_and_capped(server):
    page = fetch(f"{server}/hop")
    assert page.ok and page.final_url == f"{server}/article" and page.redirects == [f"{server}/hop"]
    looped = fetch(f"{server}/loop", max_redirects=3)
    assert (looped.ok, looped.reason) == (False, "too_many_redirects")
    assert len(looped.redirects) == 4


def test_every_redirect_hop_is_checked_again():
    app = web.Application()

    async def to_ftp(request):
        raise web.HTTPFound("ftp://127.0.0.1/file")

    app.router.add_get("/to-ftp", to_ftp)
    with serving(app) as root:
        page = fetch(f"{root}/to-ftp")
    assert (page.ok, page.reason) == (False, "bad_url") and page.redirects == [f"{root}/to-ftp"]

    async def check_hop():
        async with Fetcher(Fetch(), allow_private=False) as fetcher:
            return await fetcher.check_url(f"{root}/to-private", "http://10.0.0.5/admin")

    assert asyncio.run(check_hop()).reason == "private_address"


def test_timeout_is_a_refusal(server):
    page = fetch(f"{server}/slow", timeout_s=0.3)
    assert (page.ok, page.reason) == (False, "timeout")


def test_cleaned_pages_are_cached_by_url(server, tmp_path):
    first = fetch(f"{server}/plain", cache_dir=tmp_path)
    second = fetch(f"{server}/plain", cache_dir=tmp_path)
    assert first.ok and not first.from_cache
    assert second.from_cache and second.text == first.text
    refusal = fetch(f"{server}/missing", cache_dir=tmp_path)
    assert not fetch(f"{server}/missing", cache_dir=tmp_path).from_cache and not refusal.ok


def test_local_urls_read_the_project_files(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.md").write_text("# Quarks\n\nSix flavours.", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"text": "row one"}\n{"text": "row two"}\n', encoding="utf-8")

    async def go(url):
        async with Fetcher(Fetch(), project_dir=tmp_path) as fetcher:
            return await fetcher.fetch(url)

    page = asyncio.run(go("local://corpus/a.md"))
    assert page.ok and "Six flavours." in page.text and page.format == "md"
    assert asyncio.run(go("local://rows.jsonl#L2")).text == "row two"
    assert asyncio.run(go("local://../etc/passwd")).reason == "outside_project"
    assert asyncio.run(go("local://corpus/none.md")).reason == "not_found"


def test_fetch_many_reads_local_and_remote_urls_in_order_each_with_its_own_outcome(server, tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.md").write_text("# Quarks\n\nSix flavours.", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"text": "row one"}\n{"text": "row two"}\n', encoding="utf-8")
    urls = ["local://corpus/a.md", f"{server}/plain", "local://../etc/passwd", "local://rows.jsonl#L2",
            f"{server}/missing", "local://corpus/none.md", "local://rows.jsonl#L9", "local://corpus/a.md"]

    async def go():
        async with Fetcher(Fetch(), allow_private=True, project_dir=tmp_path) as fetcher:
            return await fetcher.fetch_many(urls)

    pages = asyncio.run(go())
    assert [page.url for page in pages] == urls
    assert [page.reason for page in pages] == [None, None, "outside_project", None, "http_error", "not_found",
                                               "not_found", None]
    assert "Six flavours." in pages[0].text and pages[3].text == "row two" and pages[7].text == pages[0].text
    assert pages[1].text.startswith("Gluons carry colour charge.")


def test_fetch_many_of_local_urls_alone_gives_what_each_url_fetched_alone_gives(tmp_path, monkeypatch):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.md").write_text("# Quarks\n\nSix flavours.", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"text": "row one"}\n{"text": "row two"}\n', encoding="utf-8")
    urls = ["local://corpus/a.md", "local://../etc/passwd", "local://rows.jsonl#L2", "local://corpus/none.md",
            "local://corpus/a.md"]

    async def go(many: bool):
        async with Fetcher(Fetch(), project_dir=tmp_path) as fetcher:
            return await fetcher.fetch_many(urls) if many else [await fetcher.fetch(url) for url in urls]

    assert [page.to_dict() for page in asyncio.run(go(True))] == [page.to_dict() for page in asyncio.run(go(False))]

    def broken(*args):
        raise OSError("the disk went away")

    monkeypatch.setattr("sftgen.fetch.local_files.read_all", broken)  # the reads of the batch fail as a whole
    pages = asyncio.run(go(True))
    assert [page.reason for page in pages] == ["fetch_error"] * len(urls)
    assert all("OSError: the disk went away" in page.detail for page in pages)
