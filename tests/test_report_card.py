"""The dataset card written with an export: in the hf folder by default, beside a jsonl file with --card."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from sftgen.cli import app
from tests.support.projects import make_project
from tests.support.report_store import seed_report_store


def card_project(tmp_path):
    project = make_project(tmp_path / "p")
    pairs = zip(["colour", "mass", "spin"] * 4, ["hadrons", "jets", "mesons", "decays"] * 3)
    prompts = [(f"How does {w} shape {t}?", {"subdomain": "quarks" if i % 2 else "gluons"})
               for i, (w, t) in enumerate(pairs)]
    seed_report_store(project, prompts)
    return project


def header_and_body(text: str) -> tuple[dict, str]:
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def test_hf_export_writes_a_card_into_the_dataset_folder(tmp_path):
    project = card_project(tmp_path)
    out = tmp_path / "dataset"
    result = CliRunner().invoke(app, ["export", str(project), "--what", "prompts", "--out", str(out), "--format", "hf"])
    assert result.exit_code == 0, result.output
    header, body = header_and_body((out / "README.md").read_text())
    assert header["license"] == "unknown" and "license_name" not in header and header["language"] == ["en"]
    assert "load_from_disk" in body
    assert header["size_categories"] == ["n<1K"] and header["task_categories"] == ["text-generation"]
    assert header["pretty_name"] == "tiny"
    assert "`prompts`, 12 rows" in body
    assert "| quarks | 50% |" in body and "| gluons | 50% |" in body
    # 12 prompts "how does W shape T" (3 Ws, 4 Ts, all 12 pairs): unigrams 10/60, bigrams 11/48, trigrams 18/36
    assert "On 12 exported prompts: distinct-1/2/3 0.167 / 0.229 / 0.500" in body


def test_jsonl_export_writes_a_card_only_when_asked(tmp_path):
    project = card_project(tmp_path)
    plain, carded = tmp_path / "plain.jsonl", tmp_path / "carded.jsonl"
    assert CliRunner().invoke(app, ["export", str(project), "--what", "prompts", "--out", str(plain)]).exit_code == 0
    assert not (tmp_path / "plain.jsonl.README.md").exists()
    result = CliRunner().invoke(app, ["export", str(project), "--what", "prompts", "--out", str(carded), "--card"])
    assert result.exit_code == 0, result.output
    header, body = header_and_body((tmp_path / "carded.jsonl.README.md").read_text())
    assert header["size_categories"] == ["n<1K"]
    assert "no LLM request recorded" in body
