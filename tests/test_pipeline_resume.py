"""The store and the local executor: per-item resume, the request cache, settings changes, errors."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sftgen.llm.client import Backoff, ChatClient
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project
from sftgen.store import open_store
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server
from tests.support.projects import make_project, paragraphs
from tests.support.topic_step import install_template, topic_pipeline

DOCS = {f"doc{i}.md": f"# Doc {i}\n\n" + paragraphs(f"topic{i}", 3) for i in range(5)}


def run(project_dir: Path, server, options: RunOptions | None = None, max_retries: int = 2):
    async def go():
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=max_retries,
                            backoff=Backoff(0.001, 0.01))
        try:
            return await run_project(Project.open(project_dir), options, llm=client, pipeline=topic_pipeline())
        finally:
            await client.aclose()

    return asyncio.run(go())


def progress(project_dir: Path, step: str) -> list[sqlite3.Row]:
    store = open_store(project_dir)
    try:
        return store.progress.rows(step)
    finally:
        store.close()


def active(project_dir: Path, step: str) -> list[str]:
    store = open_store(project_dir)
    try:
        return [record.text for record in store.emitted(step)]
    finally:
        store.close()


def test_an_unchanged_second_run_sends_zero_llm_requests(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        first = run(project, server)
        sent = server.stats()["requests"]
        second = run(project, server)
        assert server.stats()["requests"] == sent
    chunks = len(progress(project, "topic"))
    assert first.processed["topic"] == chunks > 5
    assert sent == chunks
    assert second.processed == {"ingest": 0, "chunk": 0, "topic": 0}


def test_every_input_is_recorded_once_with_its_cost(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server)
    rows = progress(project, "topic")
    assert len({row["item_id"] for row in rows}) == len(rows)
    assert all(row["outcome"] == "kept" and row["llm_requests"] == 1 for row in rows)
    assert all(row["prompt_tokens"] > 0 for row in rows)
    notes = active(project, "topic")
    assert len(notes) == len(rows)


def test_editing_the_template_re_asks_that_step_and_withdraws_its_old_outputs(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server)
        before = set(active(project, "topic"))
        sent = server.stats()["requests"]
        install_template(project, "<|system|>\nName the main subject, briefly.\n<|user|>\n{{ text | fence }}\n")
        run(project, server)
        resent = server.stats()["requests"] - sent
    chunks = len(progress(project, "topic"))
    assert resent == chunks, "only the edited step asks again, once per input"
    after = set(active(project, "topic"))
    assert len(after) == chunks and not (after & before), "the old notes are withdrawn"


def test_a_failed_item_is_recorded_with_its_reason_and_the_run_goes_on(tmp_path):
    docs = {"good.md": "# Good\n\n" + paragraphs("quarks", 2), "bad.md": "# Bad\n\nPOISON " + paragraphs("x", 1)}
    project = make_project(tmp_path / "p", docs)
    install_template(project)
    config = FakeServerConfig(rules=[ReplyRule(contains="POISON", status=500)])
    with running_fake_server(config) as server:
        run(project, server, max_retries=1)
        rows = progress(project, "topic")
        errors = [row for row in rows if row["outcome"] == "error"]
        assert errors and all(row["reason"] == "llm_unavailable" for row in errors)
        refused = server.stats()["outcomes"]["500"]
        assert refused == 2 * len(errors), "each failed input is tried once (plus one retry) per run, not per pass"
        assert any(row["outcome"] == "kept" for row in rows)
        # the next run retries only the failed inputs
        server.set_config(rules=[])
        sent = server.stats()["requests"]
        run(project, server)
        assert server.stats()["requests"] - sent == len(errors)
    assert all(row["outcome"] == "kept" for row in progress(project, "topic"))


def test_a_changed_document_is_read_again_and_its_old_chunks_withdrawn(tmp_path):
    project = make_project(tmp_path / "p", {"a.md": "# A\n\n" + paragraphs("alpha", 2)})
    install_template(project)
    with running_fake_server() as server:
        run(project, server)
        old_chunks = set(active(project, "chunk"))
        (project / "docs" / "a.md").write_text("# A\n\n" + paragraphs("beta", 2))
        run(project, server)
    new_chunks = set(active(project, "chunk"))
    assert new_chunks and not (new_chunks & old_chunks)
    assert all("beta" in text for text in active(project, "chunk"))
    assert len(active(project, "topic")) == len(new_chunks)


def test_limit_processes_at_most_n_inputs_per_step_and_the_rest_later(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server, RunOptions(limit=2))
        assert len(progress(project, "ingest")) == 2
        assert len(progress(project, "topic")) <= 2 * 2
        run(project, server)
    assert len(progress(project, "ingest")) == 5


def test_until_stops_after_the_named_step(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    with running_fake_server() as server:
        run(project, server, RunOptions(until="chunk"))
        assert server.stats()["requests"] == 0
    assert progress(project, "chunk") and not progress(project, "topic")


def test_a_redo_that_fails_keeps_the_earlier_outputs_until_it_succeeds(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server)
        before = set(active(project, "topic"))
        install_template(project, "<|user|>\nBROKEN {{ text | fence }}\n")
        server.set_config(rules=[ReplyRule(contains="BROKEN", status=500)])
        run(project, server, max_retries=0)
    assert all(row["outcome"] == "error" for row in progress(project, "topic"))
    assert set(active(project, "topic")) == before
