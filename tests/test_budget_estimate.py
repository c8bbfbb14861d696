"""Budgets stop a run cleanly and resumably (per run, with a message in the run's log), and
`sftgen run --dry-run` estimates requests, tokens and cost per step from a preview without committing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sftgen.estimate import estimate_run
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project
from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server
from tests.support.projects import TINY_RECIPE, make_project

pytestmark = pytest.mark.timeout(120)
N_DOCS = 12
# Identical structure per document: every document makes the same number of chunks, each long enough
# (profiles.min_chunk_chars) to be judged by the LLM.
DOC = "\n\n".join(
    f"Paragraph {{i}}.{p}: quarks carry colour charge and gluons bind them into hadrons; confinement keeps "
    "them from being seen alone, and asymptotic freedom frees them at short range." for p in range(3))


def project_at(root: Path, base_url: str, budget: dict | None = None, prices: bool = False) -> Project:
    llm = {"provider": "openai", "base_url": base_url, "model": "fake-model", "max_concurrency": 4}
    if prices:
        llm.update(price_per_million_input=2.0, price_per_million_output=8.0)
    recipe = {**TINY_RECIPE, "chunking": {"size": 600, "overlap": 40}, "llm": llm, "budget": budget or {}}
    make_project(root, {f"doc{i:02d}.md": DOC.format(i=i) for i in range(N_DOCS)}, recipe)
    return Project.open(root)


def rows(project: Project, sql: str) -> list[tuple]:
    conn = sqlite3.connect(project.state_dir / "store.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_request_budget_stops_the_run_and_the_next_run_resumes(tmp_path):
    with running_fake_server(FakeServerConfig()) as server:
        project = project_at(tmp_path / "p", server.base_url, budget={"max_llm_requests": 5})
        until = RunOptions(until="chunk_filter")
        first = asyncio.run(run_project(project, until))
        assert first.stopped_by and "budget.max_llm_requests (5)" in first.stopped_by
        after_first = server.stats()["requests"]
        # the items already in process finish: at most the step's workers (4 slots + 2 spare) past the budget
        assert 5 <= after_first <= 5 + 6
        outcome, message = rows(project, "SELECT outcome, message FROM runs ORDER BY id")[-1]
        assert outcome == "stopped" and "max_llm_requests" in message
        log = (project.state_dir / "logs" / "run-1.log").read_text()
        assert "budget spent" in log and "max_llm_requests" in log
        done = rows(project, "SELECT COUNT(*) FROM progress WHERE step='chunk_filter'")[0][0]
        assert done == after_first  # one request per chunk, each committed
        total_chunks = rows(project, "SELECT COUNT(*) FROM records WHERE kind='chunk'")[0][0]
        assert done < total_chunks

        # The budget is per run: each run may spend it again, and resumes where the last stopped.
        runs = 1
        while rows(project, "SELECT COUNT(*) FROM progress WHERE step='chunk_filter'")[0][0] < total_chunks:
            asyncio.run(run_project(project, until))
            runs += 1
            assert runs < 20
        assert server.stats()["requests"] == total_chunks  # nothing asked twice across the stops
        assert rows(project, "SELECT COUNT(*) FROM progress WHERE outcome='error'")[0][0] == 0


def test_token_budget_message_names_the_tokens_spent(tmp_path):
    with running_fake_server(FakeServerConfig()) as server:
        project = project_at(tmp_path / "p", server.base_url, budget={"max_tokens": 300})
        summary = asyncio.run(run_project(project, RunOptions(until="chunk_filter")))
    assert summary.stopped_by.startswith("budget.max_tokens (300) reached:")
    assert int(summary.stopped_by.split(":")[1].split()[0]) >= 300


def test_dry_run_estimates_without_committing_and_matches_the_run(tmp_path):
    with running_fake_server(FakeServerConfig()) as server:
        project = project_at(tmp_path / "p", server.base_url, prices=True)
        pipeline = standard_pipeline(project.recipe)
        estimates = {e.step: e for e in asyncio.run(estimate_run(project, pipeline, pipeline.until("chunk_filter"),
                                                                 sample=3))}
        preview_requests = server.stats()["requests"]
        assert not (project.state_dir / "store.db").exists() or rows(project, "SELECT COUNT(*) FROM progress")[0][0] == 0

        server.reset()
        asyncio.run(run_project(project, RunOptions(until="chunk_filter")))
        real = server.stats()

    assert 0 < preview_requests <= 3
    assert estimates["ingest"].pending_now == N_DOCS and estimates["ingest"].sampled == 3
    chunk_filter = estimates["chunk_filter"]
    assert chunk_filter.uses_llm and chunk_filter.sampled == 3
    # every document makes the same chunks, and the filter asks once per chunk: the estimate is exact
    assert round(chunk_filter.inputs) == real["requests"] == round(chunk_filter.requests)
    tokens = chunk_filter.prompt_tokens + chunk_filter.completion_tokens
    assert abs(tokens - (real["prompt_tokens"] + real["completion_tokens"])) / tokens < 0.25
    expected_cost = (chunk_filter.prompt_tokens * 2.0 + chunk_filter.completion_tokens * 8.0) / 1e6
    assert chunk_filter.cost_usd == pytest.approx(expected_cost)
    assert estimates["chunk"].requests == 0 and estimates["chunk"].outputs_per_input == 1


def test_dry_run_on_the_command_line_prints_the_table(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sftgen.cli import app

    with running_fake_server(FakeServerConfig()) as server:
        root = tmp_path / "p"
        project_at(root, server.base_url, prices=True)
        monkeypatch.setenv("COLUMNS", "200")
        result = CliRunner().invoke(app, ["run", str(root), "--dry-run", "--sample", "2", "--until", "profile"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "chunk_filter" in result.output and "cost $" in result.output
    assert not (root / ".sftgen" / "store.db").exists()
