"""Near-duplicate signatures of documents read a bounded part of the text and are made once per
document: stored in its meta, loaded on later runs instead of hashing every document again."""

from __future__ import annotations

import asyncio

from aiohttp import web

import sftgen.research.budget as budget
import sftgen.research.pages as pages
from sftgen.project import Project
from sftgen.research.near_duplicates import (
    MAX_TEXT_CHARS, SIGNATURE_KEY, bounded, decode_signature, encode_signature, minhash_of,
)
from sftgen.run.runner import RunOptions, run_project
from sftgen.store import open_store
from tests.support.local_http import serving
from tests.support.projects import TINY_RECIPE, make_project
from tests.test_url_lists import long_text


def test_a_signature_reads_only_the_bounded_beginning_of_a_document():
    start = long_text("bounded start", 4000)
    assert len(start) > MAX_TEXT_CHARS
    assert bounded(start + long_text("tail one", 50)) == bounded(start + long_text("tail two", 50))
    one, two = minhash_of(start + long_text("tail one", 50)), minhash_of(start + long_text("tail two", 50))
    assert one.jaccard(two) == 1.0
    assert decode_signature(encode_signature(one)).jaccard(one) == 1.0
    assert decode_signature("minhash0-old-format:AAAA") is None and decode_signature(None) is None


class Counting:
    """Counts the calls of the real function it wraps."""

    def __init__(self, function):
        self.function, self.calls = function, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)


def test_signatures_are_made_once_per_document_and_kept_with_it(tmp_path, monkeypatch):
    app = web.Application()
    for name in ("first", "second"):
        async def page(request, name=name):
            return web.Response(text=long_text(f"{name} page", 30), content_type="text/plain")
        app.router.add_get(f"/{name}.txt", page)
    with serving(app) as root:
        recipe = {**TINY_RECIPE, "research": {"url_lists": ["urls.txt"], "allow_private_addresses": True}}
        project = make_project(tmp_path / "p", {"local.md": long_text("local document", 30)}, recipe)
        (project / "urls.txt").write_text(f"{root}/first.txt\n")
        asyncio.run(run_project(Project.open(project), RunOptions(until="url_list")))
        store = open_store(project)
        try:
            documents = list(store.records_of_kind("document"))
            assert len(documents) == 2
            assert all(decode_signature(d.meta.get(SIGNATURE_KEY)) is not None for d in documents)
        finally:
            store.close()
        (project / "urls.txt").write_text(f"{root}/first.txt\n{root}/second.txt\n")
        in_ledger, in_pages = Counting(budget.minhash_of), Counting(pages.minhash_of)
        monkeypatch.setattr(budget, "minhash_of", in_ledger)
        monkeypatch.setattr(pages, "minhash_of", in_pages)
        asyncio.run(run_project(Project.open(project), RunOptions(until="url_list")))
    assert (in_ledger.calls, in_pages.calls) == (0, 1)  # the known documents' signatures were loaded
