"""The README's first command, as a test: the example project on the embedded model, every step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.embedded, pytest.mark.timeout(1800)]

PROMPT_HALF = ["ingest", "chunk", "chunk_filter", "profile", "generate"]


def sftgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sftgen.cli", *args], capture_output=True, text=True, timeout=1700)


def test_the_example_project_runs_on_the_embedded_model_and_exports(tmp_path: Path):
    project = tmp_path / "example"
    assert sftgen("init", str(project)).returncode == 0
    run = sftgen("run", str(project))
    assert run.returncode == 0, run.stderr[-3000:]

    status = json.loads(sftgen("status", str(project), "--json").stdout)
    steps = {step["name"]: step for step in status["steps"]}
    for name in PROMPT_HALF:
        assert steps[name]["in"] > 0, f"{name} saw nothing"
        assert steps[name]["errors"] < steps[name]["in"], f"{name} failed on everything"
    assert sum(steps[name]["llm_requests"] for name in steps) > 0
    reasons = {reason for step in steps.values() for reason in step["dropped"]}
    assert reasons, "a real run drops something, with a reason"
    assert status["quotas"], "target vs actual per subdomain"

    out = tmp_path / "dataset.jsonl"
    export = sftgen("export", str(project), "--out", str(out))
    assert export.returncode == 0, export.stdout + export.stderr
    assert out.read_text().strip()
