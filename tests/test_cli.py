"""The `sftgen` command line: init, validate, run, status --json, export."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import yaml
from typer.testing import CliRunner

from sftgen.cli import app
from tests.fakes.fake_openai_server import running_fake_server

runner = CliRunner()


def sftgen(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env)


def fake_llm_env(server) -> dict:
    return {"SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": server.base_url, "SFTGEN_LLM_MODEL": "fake"}


def test_init_writes_a_valid_recipe_and_example_documents(tmp_path):
    result = sftgen("init", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "recipe.yaml").is_file()
    assert len(list((tmp_path / "p" / "docs").iterdir())) >= 4
    assert sftgen("validate", str(tmp_path / "p"), "--skip-llm").exit_code == 0


def test_init_refuses_to_overwrite_a_recipe(tmp_path):
    sftgen("init", str(tmp_path / "p"))
    result = sftgen("init", str(tmp_path / "p"))
    assert result.exit_code == 2 and "exists already" in result.output


def test_validate_exits_2_naming_the_bad_key(tmp_path):
    sftgen("init", str(tmp_path / "p"))
    recipe = tmp_path / "p" / "recipe.yaml"
    data = yaml.safe_load(recipe.read_text())
    data["chunking"]["sise"] = 10
    recipe.write_text(yaml.safe_dump(data))
    result = sftgen("validate", str(tmp_path / "p"), "--skip-llm")
    assert result.exit_code == 2
    assert "unknown key 'chunking.sise'" in result.output


def test_validate_checks_that_the_llm_answers(tmp_path):
    sftgen("init", str(tmp_path / "p"))
    with running_fake_server() as server:
        result = sftgen("validate", str(tmp_path / "p"), env=fake_llm_env(server))
    assert result.exit_code == 0, result.output
    assert "llm: openai answers" in result.output
    down = {"SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": "http://127.0.0.1:9/v1", "SFTGEN_LLM_MODEL": "m"}
    recipe = tmp_path / "p" / "recipe.yaml"
    data = yaml.safe_load(recipe.read_text())
    data["llm"]["max_retries"] = 0
    recipe.write_text(yaml.safe_dump(data))
    result = sftgen("validate", str(tmp_path / "p"), env=down)
    assert result.exit_code == 2 and "does not answer" in result.output


def test_run_status_and_export_on_the_example_until_chunking(tmp_path):
    project = str(tmp_path / "p")
    sftgen("init", project)
    result = sftgen("run", project, "--until", "chunk")
    assert result.exit_code == 0, result.output
    status = json.loads(sftgen("status", project, "--json").output)
    by_name = {step["name"]: step for step in status["steps"]}
    for key in ("name", "in", "kept", "dropped", "errors", "llm_requests", "cache_hits"):
        assert key in by_name["chunk"]
    assert by_name["ingest"]["kept"] == 4 and by_name["chunk"]["out"] > 4

    out = tmp_path / "chunks.jsonl"
    assert sftgen("export", project, "--what", "chunks", "--out", str(out)).exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == by_name["chunk"]["out"]
    assert rows[0]["provenance"][0]["kind"] == "document" and rows[0]["provenance"][0]["source"].startswith("docs/")

    parquet = tmp_path / "chunks.parquet"
    assert sftgen("export", project, "--what", "chunks", "--format", "parquet", "--out", str(parquet)).exit_code == 0
    assert pq.read_table(parquet).num_rows == len(rows)


def test_run_with_an_unknown_until_step_names_the_steps(tmp_path):
    sftgen("init", str(tmp_path / "p"))
    result = sftgen("run", str(tmp_path / "p"), "--until", "nope")
    assert result.exit_code == 2 and "no such step" in result.output and "ingest" in result.output


def test_export_refuses_an_unknown_format(tmp_path):
    sftgen("init", str(tmp_path / "p"))
    result = sftgen("export", str(tmp_path / "p"), "--format", "csv", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2 and "--format csv" in result.output
