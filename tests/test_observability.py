"""Progress bars show done/total, rate and errors; the run log gets errors; `sftgen status` shows
items per second and tokens per step."""

from __future__ import annotations

import asyncio
import json

from rich.console import Console
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.cli_progress import RichProgress
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server
from tests.support.projects import TINY_RECIPE, make_project

DOC = ("Paragraph {i}: quarks carry colour charge and gluons bind them into hadrons; confinement keeps them "
       "from being seen alone, and asymptotic freedom frees them at short range; lattice QCD computes the "
       "masses of the lightest hadrons from first principles. Marker{i}.")


def project_at(root, base_url):
    llm = {"provider": "openai", "base_url": base_url, "model": "fake-model", "max_concurrency": 4}
    recipe = {**TINY_RECIPE, "chunking": {"size": 600, "overlap": 40}, "llm": llm}
    make_project(root, {f"doc{i:02d}.md": DOC.format(i=i) for i in range(24)}, recipe)
    return Project.open(root)


def test_progress_log_and_status(tmp_path, monkeypatch):
    refused = ReplyRule(contains="Marker3.", status=400, reply="bad request (scripted)")
    with running_fake_server(FakeServerConfig(latency_ms=100, rules=[refused])) as server:
        project = project_at(tmp_path / "p", server.base_url)
        console = Console(record=True, width=200, force_terminal=True)
        with RichProgress(console) as progress:
            asyncio.run(run_project(project, RunOptions(until="chunk_filter"), progress))
            assert progress.llm is not None  # the executor handed it the run's client

    shown = console.export_text()
    assert "chunk_filter" in shown and "24/24" in shown and "1 errors" in shown and "/s" in shown
    log = (project.state_dir / "logs" / "run-1.log").read_text()
    assert "chunk_filter: 24 pending inputs" in log
    assert "error in chunk_filter on docs/doc03.md: llm_request_refused: HTTP 400" in log
    assert "run finished" in log

    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["status", str(project.dir), "--json"])
    assert result.exit_code == 0, result.output
    steps = {entry["name"]: entry for entry in json.loads(result.output)["steps"]}
    judged = steps["chunk_filter"]
    assert judged["errors"] == 1 and judged["prompt_tokens"] > 0 and judged["completion_tokens"] > 0
    # 24 items at 4 in flight and 100 ms each take about 0.6 s: several commits, so a rate
    assert judged["items_per_s"] is not None and judged["items_per_s"] > 0
    table = CliRunner().invoke(app, ["status", str(project.dir)])
    assert "items/s" in table.output


def test_progress_bar_counts_every_item_though_it_advances_in_batches():
    console = Console(record=True, width=200, force_terminal=False)
    with RichProgress(console) as progress:
        progress.step_started("rephrase", total=500)
        for _ in range(499):
            progress.item_done("rephrase", "kept")
        progress.item_done("rephrase", "error")  # shown at once, with the ones waiting
        task = progress.progress._tasks[progress.tasks["rephrase"]]
        assert task.completed == 500
        progress.step_started("dedup", total=3)
        for _ in range(3):
            progress.item_done("dedup", "kept")
        progress.step_finished("dedup")  # the items not yet shown are added at the step's end
        assert progress.progress._tasks[progress.tasks["dedup"]].completed == 3
    shown = console.export_text()
    assert "500/500" in shown and "1 errors" in shown and "3/3" in shown
