"""`sftgen run --dry-run` follows the recipe: the quotas times the overshoot bound the steps that make
prompts, `budget:` stops the estimate where it stops the run, steps after a preview that kept nothing are
guessed from the targets (and say so), minutes come from the measured latency, and `--json` has a stable
shape."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.estimate import JSON_VERSION, estimate_run
from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.runner import RunOptions, run_project
from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server
from tests.support.projects import make_project
from tests.support.prompt_script import PromptScript, physics_doc

pytestmark = pytest.mark.timeout(180)
SUBDOMAINS = [{"name": "quarks", "share": 0.5, "description": "quark flavours, charges and masses"},
              {"name": "gluons", "share": 0.5, "description": "gluons, colour charge and confinement"}]


def recipe(base_url: str, prompts: dict | None = None, **sections) -> dict:
    return {
        "project": "estimate-test",
        "domain": {"name": "particle physics", "subdomains": SUBDOMAINS},
        "chunking": {"size": 2000, "overlap": 100},
        "profiles": {"min_chunk_chars": 100},
        "filters": {"stop_share": 1.0},
        "llm": {"provider": "openai", "base_url": base_url, "model": "fake-model", "max_concurrency": 4},
        "prompts": {"target_total": 6, "overshoot": 1.5, "per_profile": 3, "variants_per_prompt": 1,
                    "max_opener_share": 1.0, **(prompts or {})},
        "answers": {"enabled": False},
        **sections,
    }


def many_documents(count: int) -> dict[str, str]:
    """One chunk each, alternating subdomains: many more profiles than the quotas need."""
    subjects = ["quarks", "gluons"]
    return {f"doc{i:02d}.md": physics_doc(subjects[i % 2], f"{subjects[i % 2]} topic {i}") for i in range(count)}


def client_for(server) -> ChatClient:
    return ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=2, backoff=Backoff(0.001, 0.01))


def estimate(project: Project, until: str | None = None, sample: int = 8):
    async def go():
        client = client_for(server_of[0])
        try:
            pipeline = standard_pipeline(project.recipe)
            return await estimate_run(project, pipeline, pipeline.until(until), sample, llm=client)
        finally:
            await client.aclose()

    return asyncio.run(go())


server_of: list = []


def real_run(project: Project, until: str) -> None:
    async def go():
        client = client_for(server_of[0])
        try:
            await run_project(project, RunOptions(until=until), llm=client)
        finally:
            await client.aclose()

    asyncio.run(go())


@pytest.fixture
def scripted():
    script = PromptScript()
    with running_fake_server() as server:
        server.script_steps(script)
        server_of[:] = [server]
        yield server, script
    server_of.clear()


def by_step(result) -> dict:
    return {e.step: e for e in result.steps}


def test_quota_smaller_than_the_extrapolation_caps_the_prompt_makers_at_target_times_overshoot(tmp_path, scripted):
    # The case: the preview would extrapolate prompts for every profile (30 of them), but the recipe
    # wants 6 prompts with an overshoot of 1.5: at most 9 are made, and generate serves few profiles.
    server, script = scripted
    root = make_project(tmp_path / "p", many_documents(30), recipe(server.base_url))
    project = Project.open(root)
    result = estimate(project, until="review_gate")
    steps = by_step(result)
    generate, broaden = steps["generate"], steps["broaden"]
    assert generate.capped_by == "prompts.target_total x prompts.overshoot"
    assert generate.outputs + broaden.outputs <= 9 + 1e-6
    assert generate.requests < 0.5 * generate.inputs  # far below one request per profile

    server.reset()
    script.requests.clear()
    real_run(project, "review_gate")
    real = script.requests
    assert real["generate"] + real["broaden"] < 20
    # within one request of what the run sent, for each of the two steps the quotas bound
    assert abs(generate.requests - real["generate"]) <= 1.5
    assert abs(broaden.requests - real["broaden"]) <= 1.5
    assert "quotas: prompts.target_total 6 x overshoot 1.5" in " ".join(result.assumptions)


def test_steps_after_a_preview_that_kept_nothing_are_guessed_from_the_targets(tmp_path, scripted):
    # Every previewed prompt is dropped by the prompt filter: today's estimate gave the whole answer half 0.
    server, script = scripted
    script.false_claims = ("Could you please explain",)  # every prompt the script writes starts with this
    root = make_project(tmp_path / "p", many_documents(10),
                        recipe(server.base_url, answers={"enabled": True, "rag": False, "evaluate": True}))
    result = estimate(Project.open(root))
    steps = by_step(result)
    assert steps["prompt_filter"].sampled > 0 and steps["prompt_filter"].outputs == 0
    answer, judge = steps["answer"], steps["answer_eval"]
    assert answer.guessed and judge.guessed and steps["dedup"].guessed
    assert answer.inputs == 6 and answer.requests == 6  # the prompts still to keep, one request each
    assert judge.inputs == 6 and judge.requests == 6
    assert answer.prompt_tokens > 0 and answer.minutes > 0
    assert not steps["generate"].guessed
    shape = result.as_dict()
    assert "answer" in shape["totals"]["guessed_steps"]


def test_a_request_budget_stops_the_estimate_where_it_stops_the_run(tmp_path, scripted):
    server, _ = scripted
    root = make_project(tmp_path / "p", many_documents(30), recipe(server.base_url, budget={"max_llm_requests": 40}))
    result = estimate(Project.open(root), until="review_gate")
    assert result.budget_stop == "budget.max_llm_requests"
    assert result.totals()["requests"] == pytest.approx(40)
    steps = by_step(result)
    stopped = next(e for e in result.steps if e.capped_by == "budget.max_llm_requests")
    after = result.steps[result.steps.index(stopped) + 1:]
    assert after and all(e.requests == 0 and "not reached" in e.note for e in after)
    assert steps["chunk_filter"].requests == 30  # before the stop: untouched


def test_minutes_come_from_the_measured_latency_and_the_concurrency(tmp_path):
    with running_fake_server(FakeServerConfig(latency_ms=200)) as server:
        server.script_steps(PromptScript())
        server_of[:] = [server]
        root = make_project(tmp_path / "p", many_documents(16), recipe(server.base_url))
        result = estimate(Project.open(root), until="chunk_filter")
    server_of.clear()
    chunk_filter = by_step(result)["chunk_filter"]
    timing = chunk_filter.timing
    assert 0.19 <= timing["latency_s"] < 0.6 and timing["concurrency"] == 4
    # 16 requests of the measured latency, 4 at a time (not 16 x 0.2 s), their CPU overlapping them, then
    # the last input's request and what the step does once
    assert chunk_filter.requests == 16
    assert timing["llm_s"] == pytest.approx(16 * timing["latency_s"] / 4)
    assert timing["llm_s"] <= timing["queue_s"] < timing["llm_s"] + timing["cpu_s"]
    assert chunk_filter.minutes * 60 == pytest.approx(
        timing["queue_s"] + timing["latency_s"] + timing["fixed_cpu_s"] / result.cpu_share, rel=1e-3)
    assert 0 < timing["cpu_s"] < timing["llm_s"] * 10
    assert 0 < result.cpu_share <= 1
    assert any("s per LLM request, measured on the preview's" in line for line in result.assumptions)


def test_dry_run_json_has_the_documented_shape(tmp_path, scripted):
    server, _ = scripted
    root = make_project(tmp_path / "p", many_documents(6), recipe(server.base_url))
    result = CliRunner().invoke(app, ["run", str(root), "--dry-run", "--json", "--sample", "2", "--until", "generate"])
    assert result.exit_code == 0, result.output
    shape = json.loads(result.stdout)
    assert shape["version"] == JSON_VERSION and shape["sample"] == 2 and shape["concurrency"] == 4
    assert [s["step"] for s in shape["steps"]] == ["ingest", "chunk", "chunk_filter", "profile", "generate"]
    for step in shape["steps"]:
        assert {"requests", "prompt_tokens", "completion_tokens", "minutes", "guessed", "capped_by", "inputs",
                "outputs", "cost_usd", "timing"} <= set(step)
    assert set(shape["totals"]) == {"requests", "prompt_tokens", "completion_tokens", "cost_usd", "minutes",
                                    "guessed_steps"}
    assert shape["totals"]["requests"] == pytest.approx(sum(s["requests"] for s in shape["steps"]), abs=0.01)
    assert isinstance(shape["assumptions"], list) and shape["assumptions"]
    assert not (Path(root) / ".sftgen" / "store.db").exists()


def test_json_without_dry_run_is_refused(tmp_path):
    root = make_project(tmp_path / "p", many_documents(1), recipe("http://127.0.0.1:9"))
    result = CliRunner().invoke(app, ["run", str(root), "--json"])
    assert result.exit_code == 2 and "--json goes with --dry-run" in result.output


def test_sigterm_during_a_dry_run_removes_its_scratch_store_and_prints_one_line(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[1]
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    with running_fake_server(FakeServerConfig(latency_ms=3000)) as server:
        root = make_project(tmp_path / "p", many_documents(6), recipe(server.base_url))
        env = {**os.environ, "TMPDIR": str(scratch_parent), "COLUMNS": "200"}
        process = subprocess.Popen([sys.executable, "-m", "sftgen.cli", "run", str(root), "--dry-run"], cwd=repo,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while server.stats()["requests"] == 0:  # the preview is waiting on its first request
            assert time.monotonic() < deadline and process.poll() is None, "the dry run never asked the LLM"
            time.sleep(0.05)
        assert list(scratch_parent.glob("sftgen-dry-run-*")), "the scratch store exists while the preview runs"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode not in (0, None)
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "dry run interrupted" in lines[0], output
    assert not list(scratch_parent.glob("sftgen-dry-run-*"))
    assert not (root / ".sftgen" / "store.db").exists()


def research_estimate_and_run(tmp_path, documents_per_subject: int):
    from tests.test_research_loop import ResearchScript, make_research_project
    from tests.test_research_loop import run as research_run

    root = make_research_project(tmp_path / "p", target_total=400, max_queries=3, max_pages=40)
    for i in range(1, documents_per_subject):
        for subject in ("quarks", "gluons"):
            (root / "docs" / f"{subject}-{i}.md").write_text(physics_doc(subject, f"{subject} topic {i}"))
    with running_fake_server() as server:
        server.script_steps(ResearchScript())
        server_of[:] = [server]
        result = estimate(Project.open(root), until="research")
    server_of.clear()
    real = ResearchScript()
    research_run(root, real)
    return by_step(result)["research"], real.requests["research"]


def test_research_is_estimated_for_every_profile_the_run_researches(tmp_path):
    # Ten profiles and 3 queries: each profile asks for its queries before any is charged (as in the run,
    # where they are in process together); the preview spending the budget does not hide them.
    research, real = research_estimate_and_run(tmp_path, 5)
    assert research.inputs == 10 and research.capped_by is None
    assert research.requests == real == 10


def test_research_stops_at_its_query_budget(tmp_path):
    # Forty profiles: past the profiles the 3 queries are enough for and those already asking (the step's
    # workers), the run declines the rest as research_budget_spent without a request.
    research, real = research_estimate_and_run(tmp_path, 20)
    assert research.inputs == 40 and research.capped_by == "research.max_queries"
    assert real < 40 and real <= research.requests < 40


def test_a_machine_without_the_embedder_distils_it_before_the_preview_not_inside_a_step(tmp_path, scripted, monkeypatch):
    # Distilling takes a minute or two of CPU once per machine. Measured inside chunk_filter's preview it
    # was that step's "once per run" cost (114 s estimated for a 1.6 s step), though the run after the dry
    # run finds the model made. Here distilling is the real model copied into a fresh cache after a second
    # of CPU, so the test does not spend minutes on it.
    import shutil
    import time

    from sftgen.embed import cache

    made = cache.ensure_distilled()  # the machine's own model, the copy's source

    def slow_distill(target: Path) -> None:
        started = time.thread_time()  # this thread's: the process's counts the scripted server's threads too
        while time.thread_time() - started < 1.0:
            sum(range(1000))
        shutil.copytree(made, target)

    monkeypatch.setenv("SFTGEN_CACHE_DIR", str(tmp_path / "fresh-cache"))
    monkeypatch.setattr(cache, "distill_into", slow_distill)
    server, _ = scripted
    project = Project.open(make_project(tmp_path / "p", many_documents(6), recipe(server.base_url)))

    first = estimate(project, until="profile", sample=4)
    assert first.distilled_s is not None and first.distilled_s >= 1.0
    assert by_step(first)["chunk_filter"].timing["fixed_cpu_s"] < 0.9  # the distilling is not the step's
    assert any("distilled for this machine" in line for line in first.assumptions)
    assert first.as_dict()["distilled_s"] == pytest.approx(first.distilled_s, abs=0.01)

    again = estimate(project, until="profile", sample=4)
    assert again.distilled_s is None
    assert not any("distilled" in line for line in again.assumptions)


def test_a_pipeline_that_embeds_nothing_distils_nothing(tmp_path, scripted, monkeypatch):
    from sftgen.embed import cache

    def refuse(target: Path) -> None:
        raise AssertionError("nothing here embeds: no distilling")

    monkeypatch.setenv("SFTGEN_CACHE_DIR", str(tmp_path / "fresh-cache"))
    monkeypatch.setattr(cache, "distill_into", refuse)
    server, _ = scripted
    project = Project.open(make_project(tmp_path / "p", many_documents(2), recipe(server.base_url)))
    assert estimate(project, until="chunk", sample=2).distilled_s is None
