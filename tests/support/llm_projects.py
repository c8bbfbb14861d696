"""A project whose chunk_filter step has ITEMS inputs for an OpenAI-compatible server, and ways to run it
(`sftgen run` in process or as a subprocess) and read what it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.project import Project
from tests.support.projects import TINY_RECIPE, make_project

ITEMS = 80  # more than the 32 requests in flight and 40 workers of the recipe defaults

DOC = ("Paragraph {i}: quarks carry colour charge and gluons bind them into hadrons; confinement keeps them "
       "from being seen alone, and asymptotic freedom frees them at short range; lattice QCD computes the "
       "masses of the lightest hadrons from first principles. Marker{i}.")


def llm_project(root, base_url: str, **llm) -> Project:
    """A project whose chunk_filter has ITEMS inputs, with the recipe's llm defaults unless given."""
    recipe = {**TINY_RECIPE, "llm": {"provider": "openai", "base_url": base_url, "model": "fake-model", **llm}}
    make_project(root, {f"doc{i:03d}.md": DOC.format(i=i) for i in range(ITEMS)}, recipe)
    return Project.open(root)


def run_in_process(project: Project):
    return CliRunner().invoke(app, ["run", str(project.dir), "--until", "chunk_filter"], env={"OPENAI_API_KEY": ""})


def run_subprocess(project: Project, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sftgen.cli", "run", str(project.dir), "--until", "chunk_filter"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SFTGEN_LLM_", "OPENAI_"))}
    return subprocess.run(command, capture_output=True, text=True, timeout=150, env={**environment, **env})


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def status_of(project: Project) -> dict:
    result = CliRunner().invoke(app, ["status", str(project.dir), "--json"])
    return {step["name"]: step for step in json.loads(result.output)["steps"]}


def chunk_filter_errors(project: Project) -> int:
    """Items of chunk_filter recorded as errors (the step is absent from the funnel when none is recorded)."""
    return status_of(project).get("chunk_filter", {}).get("errors", 0)


def last_run(project: Project) -> tuple[str, str]:
    store = project.store()
    try:
        row = store.conn.execute("SELECT outcome, message FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        store.close()
    return row["outcome"], row["message"]
