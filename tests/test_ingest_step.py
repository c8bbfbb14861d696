"""Ingest and chunk as pipeline steps: broken files recorded with their reason, the run goes on."""

from __future__ import annotations

import asyncio
import json

from sftgen.project import Project
from sftgen.report.funnel import step_funnel
from sftgen.run.runner import RunOptions, run_project
from sftgen.store import open_store
from tests.support.projects import make_project, paragraphs


def run(project_dir):
    return asyncio.run(run_project(Project.open(project_dir), RunOptions(until="chunk")))


def funnel(project_dir):
    store = open_store(project_dir)
    try:
        return {entry["name"]: entry for entry in step_funnel(store, ["ingest", "chunk"])}
    finally:
        store.close()


def test_broken_files_are_recorded_with_their_reason_and_the_good_ones_chunked(tmp_path):
    docs = {
        "good.md": "# Quarks\n\n" + paragraphs("quarks", 4),
        "nested/also-good.txt": paragraphs("gluons", 2),
        "binary.txt": b"\x00\x01\x02\x03" * 200,
        "empty.md": "   \n\n",
        "picture.png": b"\x89PNG\r\n",
        "rows.jsonl": json.dumps({"text": "A row about hadrons. " * 5}) + "\n{broken json\n"
                      + json.dumps({"title": "no text"}) + "\n",
    }
    project = make_project(tmp_path / "p", docs)
    run(project)
    ingest = funnel(project)["ingest"]
    assert ingest["dropped"] == {"binary": 1, "empty": 1, "unsupported_type": 1, "parse_error": 1,
                                 "missing_text_field": 1}
    assert ingest["kept"] == 3 and ingest["out"] == 3
    store = open_store(project)
    try:
        labels = {row["label"]: row["detail"] for row in store.progress.rows("ingest") if row["outcome"] == "dropped"}
        sources = sorted(record.meta["source"] for record in store.emitted("ingest"))
    finally:
        store.close()
    assert "docs/binary.txt" in labels and "binary.txt" in labels["docs/binary.txt"]
    assert any("rows.jsonl#L2" in label for label in labels)
    assert sources == ["docs/good.md", "docs/nested/also-good.txt", "docs/rows.jsonl#L1"]
    assert funnel(project)["chunk"]["out"] >= 3


def test_chunks_keep_their_document_position_and_heading_path(tmp_path):
    project = make_project(tmp_path / "p", {"q.md": "# Quarks\n\n## Flavours\n\n" + paragraphs("flavour", 4)})
    run(project)
    store = open_store(project)
    try:
        chunks = list(store.emitted("chunk"))
        document = next(store.emitted("ingest"))
    finally:
        store.close()
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.parent_ids == [document.id]
        assert document.text[chunk.meta["start"]:chunk.meta["end"]] == chunk.text
        assert chunk.meta["source"] == "docs/q.md"
    assert chunks[-1].meta["heading_path"] == ["Quarks", "Flavours"]


def test_an_oversized_file_is_skipped_as_too_large(tmp_path):
    recipe = {"domain": {"name": "d", "subdomains": [{"name": "s", "share": 1}]}, "sources": {"max_file_mb": 0.001}}
    project = make_project(tmp_path / "p", {"big.txt": "word " * 1000, "small.txt": "a small file"}, recipe)
    run(project)
    assert funnel(project)["ingest"]["dropped"] == {"too_large": 1}
