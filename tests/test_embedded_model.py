"""The real embedded model (SmolLM2-135M in llama-cpp-python's server) end to end on a tiny input."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from sftgen.llm.provider import open_llm
from sftgen.project import Project
from sftgen.recipe.model import LLM
from sftgen.run.runner import run_project
from sftgen.store import open_store
from tests.support.projects import make_project
from tests.support.topic_step import Topic, install_template, topic_pipeline

pytestmark = pytest.mark.embedded


def test_the_embedded_server_answers_with_schema_valid_json(tmp_path):
    async def ask():
        async with open_llm(LLM(max_tokens=48, temperature=0), tmp_path, cache=None) as client:
            return await client.complete(
                [{"role": "user", "content": "Name the topic of: 'Quarks come in six flavours.'"}],
                schema=Topic, max_tokens=48, temperature=0,
            )

    reply = asyncio.run(ask())
    assert isinstance(reply.parsed, Topic) and reply.parsed.topic.strip()
    assert reply.requests >= 1 and reply.completion_tokens > 0


def test_a_tiny_project_runs_end_to_end_on_the_embedded_model(tmp_path):
    recipe = {
        "domain": {"name": "particle physics", "subdomains": [{"name": "quarks", "share": 1}]},
        "llm": {"provider": "embedded", "max_tokens": 48, "temperature": 0},
    }
    project = make_project(tmp_path / "p", {"q.md": "# Quarks\n\nQuarks come in six flavours: up, down, charm, "
                                                    "strange, top and bottom."}, recipe)
    install_template(project)
    summary = asyncio.run(run_project(Project.open(project), pipeline=topic_pipeline()))
    assert summary.processed["topic"] == 1
    store = open_store(project)
    try:
        notes = list(store.emitted("topic"))
        row = store.progress.rows("topic")[0]
        log = (project / ".sftgen" / "embedded-server.log").exists()
    finally:
        store.close()
    assert len(notes) == 1 and notes[0].text.strip()
    assert row["llm_requests"] >= 1 and row["completion_tokens"] > 0
    assert log
    second = asyncio.run(run_project(Project.open(project), pipeline=topic_pipeline()))
    assert second.processed["topic"] == 0


def test_the_setup_smoke_test_gets_one_completion():
    smoke = subprocess.run([sys.executable, "-m", "sftgen.llm.smoke_test"], capture_output=True, text=True,
                           timeout=300)
    assert smoke.returncode == 0, smoke.stderr
    assert smoke.stdout.startswith("embedded model answers")
