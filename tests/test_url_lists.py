"""URL lists (`research.url_lists`) fetched as documents from a real server on 127.0.0.1, and the
near-duplicate check that research pages share: every URL that gives no document has its reason."""

from __future__ import annotations

import asyncio

from aiohttp import web

from sftgen.project import Project
from sftgen.research.near_duplicates import NearDuplicateIndex
from sftgen.run.runner import RunOptions, run_project
from sftgen.store import open_store
from tests.support.local_http import serving
from tests.support.projects import TINY_RECIPE, make_project
from tests.support.prompt_script import words

PAGE = "<html><head><title>{title}</title></head><body><article>{body}</article></body></html>"


def long_text(key: str, sentences: int = 12) -> str:
    return " ".join(f"{words(f'{key}{i}', 7).capitalize()} are discussed in sentence {i}." for i in range(sentences))


def pages_app() -> web.Application:
    original = long_text("gluon page")
    app = web.Application()
    routes = {
        "/gluons": PAGE.format(title="Gluons", body=f"<p>{original}</p>"),
        "/gluons-copy": PAGE.format(title="Gluons (mirror)", body=f"<p>{original} Mirrored.</p>"),
        "/quarks": PAGE.format(title="Quarks", body=f"<p>{long_text('quark page')}</p>"),
        "/stub": PAGE.format(title="Stub", body="<p>Too short.</p>"),
    }
    for path, html in routes.items():
        async def page(request, html=html):
            return web.Response(text=html, content_type="text/html")

        app.router.add_get(path, page)
    return app


def test_listed_urls_become_documents_and_refusals_keep_their_reasons(tmp_path):
    with serving(pages_app()) as root:
        recipe = {**TINY_RECIPE, "research": {"url_lists": ["urls.txt"], "allow_private_addresses": True}}
        project = make_project(tmp_path / "p", {}, recipe)
        (project / "urls.txt").write_text("\n".join([
            "# reading list", f"{root}/gluons", f"{root}/quarks", "", f"{root}/gluons-copy", f"{root}/stub",
            f"{root}/missing", "ftp://example.org/file.txt",
        ]), encoding="utf-8")
        asyncio.run(run_project(Project.open(project), RunOptions(until="url_list")))
    store = open_store(project)
    try:
        documents = {d.meta["url"]: d for d in store.emitted("url_list", kind="document")}
        reasons = {row["label"]: row["reason"] for row in store.progress.rows("url_list") if row["outcome"] == "dropped"}
    finally:
        store.close()
    # The two gluon pages are fetched at once: whichever is cleaned first is kept, the other skipped.
    gluon_pages = {f"{root}/gluons", f"{root}/gluons-copy"}
    kept_gluons = gluon_pages & set(documents)
    assert len(kept_gluons) == 1 and set(documents) == kept_gluons | {f"{root}/quarks"}
    assert documents[f"{root}/quarks"].meta["title"] == "Quarks"
    assert documents[f"{root}/quarks"].meta["url_list"] == "urls.txt:3"
    assert reasons == {
        (gluon_pages - kept_gluons).pop(): "near_duplicate",
        f"{root}/stub": "too_thin",
        f"{root}/missing": "http_error",
        "ftp://example.org/file.txt": "bad_url",
    }


def test_near_duplicates_are_found_and_a_document_is_not_its_own_duplicate():
    index = NearDuplicateIndex(threshold=0.8)
    text = long_text("index test")
    index.add("doc-a", text)
    assert index.duplicate_of("doc-a", text) is None
    other, similarity = index.duplicate_of("doc-b", text + " One more sentence.")
    assert other == "doc-a" and similarity >= 0.8
    assert index.duplicate_of("doc-c", long_text("something else entirely")) is None
