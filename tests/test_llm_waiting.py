"""Waiting is honest: a Retry-After beyond the cap is named on the item, the wall budget stops a run whose
requests are waiting, and the funnel counts every request sent, failed ones included."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.llm.client import ChatClient
from sftgen.run.runner import RunOptions, run_project
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server
from tests.support.llm_projects import ITEMS, error_lines, last_run, llm_project, run_subprocess, status_of


def test_a_retry_after_longer_than_the_cap_is_reported_on_the_item(tmp_path):
    slow_down = ReplyRule(contains="Marker3.", status=429)
    with running_fake_server(FakeServerConfig(rules=[slow_down], retry_after_s=3600)) as server:
        project = llm_project(tmp_path / "p", server.base_url, max_concurrency=4)
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=1, retry_after_cap_s=0.05)
        summary = asyncio.run(run_project(project, RunOptions(until="chunk_filter"), llm=client))
    assert summary.failure_line() is None, "one item failing does not fail the step"
    store = project.store()
    try:
        row = store.conn.execute("SELECT reason, detail, llm_requests FROM progress WHERE step='chunk_filter' "
                                 "AND outcome='error'").fetchone()
    finally:
        store.close()
    assert row["reason"] == "llm_unavailable" and row["llm_requests"] == 2
    assert "last: HTTP 429 (Retry-After: 3600)" in row["detail"]
    assert "the server asked to wait 3600 s (Retry-After) and sftgen waits at most 0.05 s per retry" in row["detail"]


def test_the_wall_budget_stops_a_run_whose_requests_wait_and_the_run_resumes(tmp_path):
    # Every request is told to come back in an hour: each item would sleep 120 s per retry, 12 minutes in all.
    busy = ReplyRule(contains="", status=429)
    with running_fake_server(FakeServerConfig(rules=[busy], retry_after_s=3600)) as server:
        project = llm_project(tmp_path / "p", server.base_url)
        recipe = project.dir / "recipe.yaml"
        recipe.write_text(recipe.read_text() + "budget:\n  max_wall_minutes: 0.05\n")
        done = run_subprocess(project, {})  # times out (a failure) if the wait outlasts the budget
        assert done.returncode == 0, done.stdout + done.stderr
        assert "stopped: budget.max_wall_minutes (0.05) reached" in done.stdout
        assert last_run(project)[0] == "stopped"
        assert "chunk_filter" not in status_of(project), "the waiting items stay pending, none is an error"

        server.set_config(rules=[])
        assert CliRunner().invoke(app, ["run", str(project.dir), "--until", "chunk_filter"]).exit_code == 0
    judged = status_of(project)["chunk_filter"]
    assert judged["in"] == ITEMS and judged["errors"] == 0


def test_failed_requests_are_counted_and_a_step_failing_on_every_item_exits_1(tmp_path):
    refused = ReplyRule(contains="Marker1.", status=400, reply="bad request (scripted)")
    overloaded = ReplyRule(contains="", status=503)
    with running_fake_server(FakeServerConfig(rules=[refused, overloaded])) as server:
        project = llm_project(tmp_path / "p", server.base_url, max_retries=2)
        result = CliRunner().invoke(app, ["run", str(project.dir), "--until", "chunk_filter"])
        sent = server.stats()["requests"]
    assert result.exit_code == 1, result.output
    assert error_lines(result.output) == [
        f"error: every item failed in chunk_filter ({ITEMS} items; commonest reason llm_unavailable, "
        f"{ITEMS - 1}x); `sftgen status` lists the errors, and `sftgen run` retries them"]
    status = json.loads(CliRunner().invoke(app, ["status", str(project.dir), "--json"]).output)
    judged = {step["name"]: step for step in status["steps"]}["chunk_filter"]
    assert judged["error_reasons"] == {"llm_unavailable": ITEMS - 1, "llm_request_refused": 1}
    assert judged["llm_requests"] == sent == 3 * (ITEMS - 1) + 1


def test_a_step_failing_on_some_items_only_exits_0(tmp_path):
    refused = ReplyRule(contains="Marker1.", status=400, reply="bad request (scripted)")
    with running_fake_server(FakeServerConfig(rules=[refused])) as server:
        project = llm_project(tmp_path / "p", server.base_url)
        result = CliRunner().invoke(app, ["run", str(project.dir), "--until", "chunk_filter"])
    assert result.exit_code == 0, result.output
    assert status_of(project)["chunk_filter"]["errors"] == 1
