"""`sftgen gc` drops the LLM cache rows and the answer-half records of withdrawn work, and nothing an
unchanged run or an export needs: after it, the same run sends no request and the exports are the same."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Status
from sftgen.store import ItemResult
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers, seed_prompts
from tests.test_store_size import answer_script


def count(project, sql):
    conn = sqlite3.connect(project / ".sftgen" / "store.db")
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def labels(project):
    conn = sqlite3.connect(project / ".sftgen" / "store.db")
    try:
        return conn.execute("SELECT step, item_id, label FROM progress ORDER BY step, item_id").fetchall()
    finally:
        conn.close()


def exported(project, tmp_path, name):
    out = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(app, ["export", str(project), "--out", str(out), "--what", "sft", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return out.read_text()


def withdraw_prompt(project, prompt):
    """The last prompt step no longer passes this prompt on (as when a reviewer rejects it)."""
    project_obj = Project.open(project)
    pipeline = standard_pipeline(project_obj.recipe)
    store = project_obj.store(pipeline.upstream_map())
    try:
        store.commit_batch(pipeline.final("prompt").name, "seeded",
                           [ItemResult(item_id=f"seed:{prompt.id}", outcome=Status.KEPT, outputs=[])])
    finally:
        store.close()


def test_gc_drops_withdrawn_work_and_an_unchanged_run_then_sends_nothing(tmp_path):
    project = make_answer_project(tmp_path / "p")
    prompts = seed_prompts(project)
    with running_fake_server() as server:
        server.script_steps(answer_script)
        run_answers(project, server)
        withdraw_prompt(project, prompts[1])
        run_answers(project, server)
        before = exported(project, tmp_path, "before")
        rows, records = count(project, "SELECT COUNT(*) FROM llm_cache"), count(project, "SELECT COUNT(*) FROM records")
        texts = count(project, "SELECT COUNT(*) FROM texts")
        labels_before = labels(project)
        assert count(project, "SELECT COUNT(*) FROM progress_rows WHERE label < 0")  # labels that start the input's text

        dry = CliRunner().invoke(app, ["gc", str(project)])
        assert dry.exit_code == 0, dry.output
        assert "Would drop" in dry.output and "--apply" in dry.output
        assert (count(project, "SELECT COUNT(*) FROM llm_cache"), count(project, "SELECT COUNT(*) FROM records")) == (rows, records)

        applied = CliRunner().invoke(app, ["gc", str(project), "--apply"])
        assert applied.exit_code == 0, applied.output
        assert "Dropped" in applied.output and "freed" in applied.output
        assert 0 < count(project, "SELECT COUNT(*) FROM llm_cache") < rows
        assert count(project, "SELECT COUNT(*) FROM records") < records
        assert count(project, "SELECT COUNT(*) FROM records WHERE kind='answer'") == 1  # the live prompt's answer
        assert count(project, "SELECT COUNT(*) FROM texts") < texts  # the dropped records' texts went with them
        assert count(project, "SELECT COUNT(*) FROM record_rows r LEFT JOIN texts t ON t.n = r.text "
                              "WHERE t.n IS NULL") == 0  # and no text a record or a progress label still has
        assert count(project, "SELECT COUNT(*) FROM progress_rows p LEFT JOIN texts t ON t.n = p.label "
                              "WHERE p.label > 0 AND t.n IS NULL") == 0
        assert labels(project) == labels_before  # those read from a dropped record's text too

        server.reset()
        run_answers(project, server)
        assert server.stats()["requests"] == 0
    assert exported(project, tmp_path, "after") == before

    again = CliRunner().invoke(app, ["gc", str(project)])
    assert "Would drop 0 LLM cache rows" in again.output and " 0 withdrawn query, page" in again.output


def test_a_progress_label_read_from_a_record_gc_drops_stays(tmp_path):
    from sftgen.records import Record
    from sftgen.store import Store
    from sftgen.store.gc import collect

    store = Store(tmp_path / "store.db", {"up": [], "down": ["up"]})
    try:
        query = Record(kind="query", text="what holds quarks together, and how strongly?")
        store.commit_batch("up", "s", [ItemResult(item_id="a prompt", outcome=Status.KEPT, outputs=[query])])
        store.commit_batch("down", "s", [ItemResult(item_id=query.id, outcome=Status.KEPT, label=query.text[:20])])
        assert store.conn.execute("SELECT label FROM progress_rows WHERE label < 0").fetchall()
        with store.transaction():  # the query no longer passed on, its progress row left (no step withdrew it)
            store.conn.execute("UPDATE emit_rows SET active = 0")
        assert collect(store.db, apply=True).garbage.record_ids == [query.id]
        assert store.get(query.id) is None
        assert [row["label"] for row in store.progress.rows("down")] == [query.text[:20]]
    finally:
        store.close()
