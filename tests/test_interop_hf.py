"""The exports as the Hugging Face stack and duckdb read them, each from its own venv: `datasets` loads jsonl
and Parquet with `load_dataset` and the hf folder with `load_from_disk`, all holding
the rows jsonl holds; `huggingface_hub.DatasetCard` parses the card (a real license); duckdb reaches nested
fields without JSON functions; and TRL's `SFTTrainer` runs a few steps on the sft export as it is, with a
tokenizer trained in the test and a tiny random model (nothing downloaded)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sftgen.cli import app
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers, scores_reply, seed_prompts, template_of
from tests.support.tool_venvs import tool_python

pytestmark = [pytest.mark.interop, pytest.mark.timeout(2400)]

INTEROP = Path(__file__).parent / "interop"
UNCITED = "No: gluons are massless, as far as anyone has measured."
CITED = "Six flavours [1], bound by gluons [2]; quarks carry charges of +2/3 or −1/3 [1]."


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Answers that cite passages and one that cites none (the mix that broke Parquet before)."""
    root = make_answer_project(tmp_path_factory.mktemp("hf") / "p", system_prompt="You are a physics tutor.")
    seed_prompts(root, [("How many quark flavours are there?", "quarks"), ("Do gluons have mass?", "gluons"),
                        ("Why do gluons interact with each other?", "gluons")])

    def script(step, body):
        if template_of(step, body) == "answer":
            return json.dumps({"answer": UNCITED if "Do gluons have mass?" in body["messages"][-1]["content"] else CITED})
        return scores_reply(4) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(root, server)
    return root


def export_three_ways(project, folder: Path, what: str) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    for fmt, out in (("jsonl", "export.jsonl"), ("parquet", "export.parquet"), ("hf", "export_hf")):
        result = CliRunner().invoke(app, ["export", str(project), "--what", what, "--format", fmt, "--out",
                                          str(folder / out), "--license", "cc-by-4.0"])
        assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (folder / "export.jsonl").read_text(encoding="utf-8").splitlines()]


def in_venv(script: str, *args, timeout: int = 900) -> dict:
    done = subprocess.run([str(tool_python("hf")), str(INTEROP / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def by_id(rows):
    return sorted(rows, key=lambda row: row["id"])


@pytest.mark.parametrize("what", ["sft", "answers"])
def test_every_reader_gets_the_jsonl_rows(project, tmp_path, what):
    rows = by_id(export_three_ways(project, tmp_path, what))
    read = in_venv("hf_readers.py", tmp_path, what)
    for reader in ("json", "parquet", "from_disk", "pandas"):
        assert by_id(read[reader]) == rows, reader
    assert "load_from_disk" in read["hf_load_dataset"]  # datasets points at it, as the card and README do
    assert "string" not in read["parquet_features"].split("'citations'")[1][:40]  # a list of structs, not text
    card = read["card"]
    assert card["license"] == "cc-by-4.0" and "license_name" not in card and card["language"] == ["en"]
    if what == "sft":
        per_row = {row["id"]: row for row in read["duckdb"]["per_row"]}
        for row in rows:
            got = per_row[row["id"]]
            assert got["cited"] == len(row["citations"]) and got["style"] == 4
            assert got["answer"] == row["messages"][-1]["content"] and got["passages"] == row["provenance"]["passage_ids"]
            assert got["first_url"] == (row["citations"][0]["url"] if row["citations"] else None)
        assert sorted(u["url"] for u in read["duckdb"]["cited_urls"]) == sorted(
            c["url"] for row in rows for c in row["citations"])
        assert sorted(len(row["citations"]) for row in rows) == [0, 2, 2]
    else:
        per_row = {row["id"]: row for row in read["duckdb"]["per_row"]}
        assert {i: r["subdomain"] for i, r in per_row.items()} == {row["id"]: row["meta"]["subdomain"] for row in rows}
        assert all(r["parent_kind"] == "prompt" for r in per_row.values())


def test_trl_sft_trainer_runs_on_the_sft_export_as_it_is(project, tmp_path):
    rows = export_three_ways(project, tmp_path, "sft")
    for export in (tmp_path / "export.jsonl", tmp_path / "export_hf"):
        trained = in_venv("trl_sft.py", export, tmp_path / f"trl-{export.name}", timeout=1200)
        assert trained["rows"] == len(rows) and "citations" in trained["columns"] and "messages" in trained["columns"]
        assert trained["steps"] == 4 and len(trained["losses"]) == 4
        assert all(math.isfinite(loss) and loss > 0 for loss in trained["losses"])
