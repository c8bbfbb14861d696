"""What a source folder cannot make the pipeline do: read a file outside it through a symlink, loop
through links, spend minutes on a 20,000-page PDF or misread UTF-16 without a byte-order mark. Every
link that is not read is an item with its reason, never silently skipped."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from sftgen.cli import app as cli
from sftgen.ingest import iter_source_entries, read_documents
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project
from sftgen.store import open_store
from tests.support.projects import TINY_RECIPE, make_project, paragraphs
from tests.test_ingest_readers import make_pdf

SECRET = "root:x:0:0:the secret line outside the project"


def ingest_outcomes(project):
    asyncio.run(run_project(Project.open(project), RunOptions(until="ingest")))
    store = open_store(project)
    try:
        rows = {row["label"]: (row["outcome"], row["reason"], row["detail"]) for row in store.progress.rows("ingest")}
        texts = [document.text for document in store.emitted("ingest", kind="document")]
    finally:
        store.close()
    return rows, texts


def test_symlinks_out_of_the_source_folder_dangling_and_looping_are_recorded_not_read(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET + "\n" + paragraphs("secrets", 2))
    (outside / "folder").mkdir()
    (outside / "folder" / "inner.txt").write_text(SECRET)
    project = make_project(tmp_path / "p", {"good.md": "# Quarks\n\n" + paragraphs("quarks", 2),
                                            "sub/real.txt": paragraphs("gluons", 2)})
    docs = project / "docs"
    (docs / "passwd.txt").symlink_to(outside / "passwd.txt")
    (docs / "outside-folder").symlink_to(outside / "folder", target_is_directory=True)
    (docs / "relative-escape.txt").symlink_to("../../elsewhere/passwd.txt")
    (docs / "dangling.txt").symlink_to(docs / "gone.txt")
    (docs / "a-loop.txt").symlink_to(docs / "b-loop.txt")
    (docs / "b-loop.txt").symlink_to(docs / "a-loop.txt")
    (docs / "sub" / "up").symlink_to(docs, target_is_directory=True)
    (docs / "sub-again").symlink_to(docs / "sub", target_is_directory=True)
    (docs / "alias.txt").symlink_to(docs / "sub" / "real.txt")  # a link to a file inside: read
    rows, texts = ingest_outcomes(project)
    assert not any(SECRET in text for text in texts)
    reasons = {label: reason for label, (outcome, reason, _) in rows.items() if outcome == "dropped"}
    assert reasons == {
        "docs/passwd.txt": "outside_source", "docs/outside-folder": "outside_source",
        "docs/relative-escape.txt": "outside_source", "docs/dangling.txt": "dangling_link",
        "docs/a-loop.txt": "symlink_loop", "docs/b-loop.txt": "symlink_loop", "docs/sub/up": "symlink_loop",
        "docs/sub-again": "duplicate_link",
    }
    assert str(outside / "passwd.txt") in rows["docs/passwd.txt"][2]
    assert {label for label, (outcome, _, _) in rows.items() if outcome == "kept"} == {
        "docs/good.md", "docs/sub/real.txt", "docs/alias.txt"}
    status = json.loads(CliRunner().invoke(cli, ["status", str(project), "--json"]).stdout)
    ingest = next(step for step in status["steps"] if step["name"] == "ingest")
    assert ingest["dropped"]["outside_source"] == 3


def test_read_documents_refuses_a_link_out_of_its_root_when_called_directly(tmp_path):
    (tmp_path / "secret.txt").write_text(SECRET)
    root = tmp_path / "docs"
    root.mkdir()
    (root / "x.txt").symlink_to(tmp_path / "secret.txt")
    outcome = read_documents(root / "x.txt", root=root, max_bytes=10_000)
    assert outcome.documents == [] and [p.reason for p in outcome.problems] == ["outside_source"]
    assert [(e.path.name, e.problem.reason) for e in iter_source_entries(root)] == [("x.txt", "outside_source")]


def test_a_pdf_over_the_page_cap_is_too_many_pages(tmp_path):
    recipe = {**TINY_RECIPE, "sources": {"max_pdf_pages": 5}}
    project = make_project(tmp_path / "p", {
        "long.pdf": make_pdf([f"Page {i} about quarks." for i in range(12)]),
        "short.pdf": make_pdf([f"Page {i} about gluons." for i in range(5)]),
    }, recipe)
    rows, texts = ingest_outcomes(project)
    assert rows["docs/long.pdf"][:2] == ("dropped", "too_many_pages")
    assert "12 pages, over the limit of 5" in rows["docs/long.pdf"][2]
    assert rows["docs/short.pdf"][0] == "kept" and any("Page 4 about gluons." in text for text in texts)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(tmp_path, encoding):
    text = "Quarks und Gluonen: naïve Überlegungen über Farbladung.\nZweite Zeile — mit Gedankenstrich.\n" * 4
    project = make_project(tmp_path / "p", {"notes.txt": text.encode(encoding)})
    rows, texts = ingest_outcomes(project)
    assert rows["docs/notes.txt"][0] == "kept"
    assert texts == [text.strip("\n")]


def test_binary_with_many_nul_bytes_is_still_binary(tmp_path):
    data = bytes(range(256)) * 16  # NULs, but not in every other byte
    ints = b"".join(i.to_bytes(2, "little") for i in range(0, 4000, 7))  # 16-bit numbers: decodes to controls
    project = make_project(tmp_path / "p", {"blob.txt": data, "ints.txt": ints})
    rows, _ = ingest_outcomes(project)
    assert rows["docs/blob.txt"][:2] == ("dropped", "binary") and rows["docs/ints.txt"][:2] == ("dropped", "binary")


def test_the_fetcher_caps_pdf_pages_too(tmp_path):
    from aiohttp import web

    from sftgen.fetch import Fetcher
    from sftgen.recipe.research_settings import Fetch
    from tests.support.local_http import serving

    app = web.Application()
    pdf = make_pdf([f"Page {i} about quarks." for i in range(8)])

    async def serve_pdf(request):
        return web.Response(body=pdf, content_type="application/pdf")

    app.router.add_get("/long.pdf", serve_pdf)
    with serving(app) as root:
        async def go():
            async with Fetcher(Fetch(), allow_private=True, max_pdf_pages=3) as fetcher:
                return await fetcher.fetch(f"{root}/long.pdf")

        page = asyncio.run(go())
    assert (page.ok, page.reason) == (False, "too_many_pages") and "8 pages" in page.detail
