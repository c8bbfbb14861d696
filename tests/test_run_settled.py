"""Steps a run found with nothing to do are remembered at the store's generation (run/settled.py): the next
run of an unchanged project skips looking for their pending inputs, and any change, an error left to
retry, or a --limit run makes every step look again."""

from __future__ import annotations

import json

from sftgen.run.runner import RunOptions
from sftgen.run.settled import SETTLED_FILE, SettledSteps
from sftgen.store import open_store
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server
from tests.support.projects import make_project, paragraphs
from tests.support.topic_step import install_template
from tests.test_pipeline_resume import DOCS, progress, run


def generation(project) -> int:
    store = open_store(project)
    try:
        return store.db.generation()
    finally:
        store.close()


def settled(project) -> SettledSteps:
    return SettledSteps.read(project / ".sftgen")


def test_a_run_that_ends_with_nothing_to_do_settles_its_steps_at_the_stores_generation(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server)
        assert set(settled(project).steps) == {"chunk", "topic"}
        assert settled(project).generation == generation(project)
        sent = server.stats()["requests"]
        again = run(project, server)
        assert server.stats()["requests"] == sent
    assert again.processed == {"ingest": 0, "chunk": 0, "topic": 0}
    assert settled(project).generation == generation(project), "an unchanged run writes nothing"


def test_a_change_to_the_store_after_settling_is_seen_by_the_next_run(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server)
        store = open_store(project)
        redo = [row["item_id"] for row in store.progress.rows("topic")][:2]
        store.forget_progress("topic", redo)  # what a reviewer's decision does to its gate
        store.close()
        after = run(project, server)
    assert after.processed["topic"] == 2
    assert all(row["outcome"] == "kept" for row in progress(project, "topic"))


def test_a_step_with_errors_left_to_retry_is_not_settled(tmp_path):
    docs = {"good.md": "# Good\n\n" + paragraphs("quarks", 2), "bad.md": "# Bad\n\nPOISON " + paragraphs("x", 1)}
    project = make_project(tmp_path / "p", docs)
    install_template(project)
    with running_fake_server(FakeServerConfig(rules=[ReplyRule(contains="POISON", status=500)])) as server:
        run(project, server, max_retries=1)
        errors = [row for row in progress(project, "topic") if row["outcome"] == "error"]
        assert errors
        assert "topic" not in settled(project).steps and "chunk" in settled(project).steps
        server.set_config(rules=[])
        sent = server.stats()["requests"]
        retried = run(project, server)
        assert server.stats()["requests"] - sent == len(errors)
    assert retried.processed["topic"] == len(errors)
    assert "topic" in settled(project).steps


def test_a_limited_run_settles_nothing(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server, RunOptions(limit=2))
        assert not (project / ".sftgen" / SETTLED_FILE).exists()
        rest = run(project, server)
    assert rest.processed["topic"] > 0
    assert all(row["outcome"] == "kept" for row in progress(project, "topic"))


def test_a_settled_file_of_other_settings_or_that_does_not_parse_settles_nothing(tmp_path):
    project = make_project(tmp_path / "p", DOCS)
    install_template(project)
    with running_fake_server() as server:
        run(project, server)
        path = project / ".sftgen" / SETTLED_FILE
        data = json.loads(path.read_text())
        data["steps"]["topic"] = json.dumps(["another-settings-hash", ["chunk"]])
        path.write_text(json.dumps(data))
        assert not settled(project).holds("topic", "settings-now", ["chunk"], generation(project))
        path.write_text("{not json")
        assert settled(project).generation is None
        sent = server.stats()["requests"]
        again = run(project, server)
        assert server.stats()["requests"] == sent
    assert again.processed == {"ingest": 0, "chunk": 0, "topic": 0}
    assert set(settled(project).steps) == {"chunk", "topic"}
