"""`sftgen export --what sft`: kept prompt-answer pairs as chat messages in JSONL, Parquet and a
Hugging Face dataset folder, each row with its citations, scores and provenance ids; the three formats hold
the same rows, typed by one schema, when some answers cite and others do not."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.export.rows import export_schema
from sftgen.export.schema import CITATION
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers, scores_reply, seed_prompts, template_of

SYSTEM = "You are a careful physics tutor."
UNCITED = "No: gluons are massless."


@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    """A project with two kept, scored, grounded answers that cite, one that cites nothing, and one dropped
    as low_score."""
    project = make_answer_project(tmp_path_factory.mktemp("sft") / "p", system_prompt=SYSTEM)
    prompts = seed_prompts(project, [
        ("How many quark flavours are there?", "quarks"),
        ("Why do gluons interact with each other?", "gluons"),
        ("What is a baryon made of?", "quarks"),
        ("Do gluons have mass?", "gluons"),
    ])

    def script(step, body):
        if template_of(step, body) == "answer":
            if "Do gluons have mass?" in body["messages"][-1]["content"]:
                return json.dumps({"answer": UNCITED})
            return json.dumps({"answer": "Six flavours [1], bound by gluons [2]."})
        if template_of(step, body) == "answer_eval":
            return scores_reply(1 if "baryon" in body["messages"][-1]["content"] else 4)
        return None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)
    return project, prompts


def export(project, *args):
    result = CliRunner().invoke(app, ["export", str(project), *args])
    assert result.exit_code == 0, result.output
    return result.output


def check_row(row, prompts_by_text):
    roles = [m["role"] for m in row["messages"]]
    assert roles == ["system", "user", "assistant"]
    assert row["messages"][0]["content"] == SYSTEM
    prompt = prompts_by_text[row["messages"][1]["content"]]
    assert row["prompt_id"] == prompt.id
    if row["messages"][2]["content"] == UNCITED:
        assert row["citations"] == []
    else:
        assert row["messages"][2]["content"] == "Six flavours [1], bound by gluons [2]."
        assert [c["n"] for c in row["citations"]] == [1, 2]
        assert all(c["url"].startswith("local://corpus/") for c in row["citations"])
    assert row["scores"]["domain"] == {"score": 4, "why": "domain judged 4"} and row["score_mean"] == 4.0
    assert row["rag"] is True and row["needs_review"] is False
    provenance = row["provenance"]
    assert len(provenance["passage_ids"]) in (2, 3) and provenance["page_ids"] and provenance["query_ids"]
    assert provenance["prompt_lineage"][0]["id"] == prompt.id


def jsonl_rows(out):
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_jsonl_rows_are_chat_messages_with_citations_scores_and_provenance(answered, tmp_path):
    project, prompts = answered
    out = tmp_path / "sft.jsonl"
    assert "wrote 3 sft" in export(project, "--what", "sft", "--out", str(out))
    rows = jsonl_rows(out)
    assert len(rows) == 3  # the low-scored baryon answer is not exported
    assert sorted(len(row["citations"]) for row in rows) == [0, 2, 2]
    for row in rows:
        check_row(row, {p.text: p for p in prompts})


def test_the_default_export_is_sft_once_answers_exist(answered, tmp_path):
    project, _ = answered
    assert "wrote 3 sft" in export(project, "--out", str(tmp_path / "default.jsonl"))


def test_parquet_holds_the_jsonl_rows_typed_by_the_sft_schema(answered, tmp_path):
    project, prompts = answered
    export(project, "--what", "sft", "--out", str(tmp_path / "sft.jsonl"))
    out = tmp_path / "sft.parquet"
    export(project, "--what", "sft", "--format", "parquet", "--out", str(out))
    table = pq.read_table(out)
    assert table.schema.remove_metadata() == export_schema("sft")
    assert table.schema.field("citations").type.value_type == CITATION  # a list of structs, never JSON text
    assert table.to_pylist() == jsonl_rows(tmp_path / "sft.jsonl")
    for row in table.to_pylist():
        check_row(row, {p.text: p for p in prompts})


def test_hf_dataset_folder_holds_the_same_rows(answered, tmp_path):
    datasets = pytest.importorskip("datasets")
    project, prompts = answered
    export(project, "--what", "sft", "--out", str(tmp_path / "sft.jsonl"))
    out = tmp_path / "sft_hf"
    export(project, "--what", "sft", "--format", "hf", "--out", str(out))
    loaded = datasets.load_from_disk(str(out))
    assert loaded.data.schema.remove_metadata() == export_schema("sft")
    assert loaded.to_list() == jsonl_rows(tmp_path / "sft.jsonl")
    for row in loaded:
        check_row(row, {p.text: p for p in prompts})


def test_without_a_system_prompt_rows_start_with_the_user(tmp_path):
    project = make_answer_project(tmp_path / "p", rag=False)
    seed_prompts(project)

    def script(step, body):
        if template_of(step, body) == "answer_closed_book":
            return json.dumps({"answer": "From memory."})
        return scores_reply(5) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)
    out = tmp_path / "sft.jsonl"
    export(project, "--what", "sft", "--out", str(out))
    rows = jsonl_rows(out)
    assert rows and all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in rows)
    assert all(r["rag"] is False and r["citations"] == [] and r["provenance"]["passage_ids"] == [] for r in rows)
    assert yaml.safe_load((project / "recipe.yaml").read_text())["answers"]["rag"] is False
