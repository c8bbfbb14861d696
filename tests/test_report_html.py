"""`sftgen report`: the page is self-contained and escapes what it shows; metrics.json states the sample."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from sftgen.cli import app
from tests.support.embedder import embedder  # noqa: F401  (fixture: distils the embedder once per machine)
from tests.support.projects import make_project
from tests.support.report_store import seed_report_store

HOSTILE = "<script>alert(1)</script>"
SUBDOMAINS = ["quarks", "gluons"]


def report_project(tmp_path):
    project = make_project(tmp_path / "p")
    prompts = [(f"Question {i}: why does {w} matter for {t}?", {"subdomain": SUBDOMAINS[i % 2], "topic": t})
               for i, (w, t) in enumerate(zip(["colour", "mass", "spin", "charge", "decay"] * 6,
                                              ["confinement", "hadrons", HOSTILE] * 10))]
    prompts.append((f"Is this prompt {HOSTILE} escaped?", {"subdomain": HOSTILE}))
    answers = [(i, f"Answer {i}: it binds quarks [1].", {"groundedness": 1 + i % 5, "style": 4}, i % 3 != 0)
               for i in range(12)]
    seed_report_store(project, prompts, answers)
    return project


def test_report_is_self_contained_and_states_its_sample(tmp_path, embedder):  # noqa: F811
    project = report_project(tmp_path)
    reference = tmp_path / "human.jsonl"
    reference.write_text("".join(json.dumps({"prompt": f"Why does colour {i} matter for confinement?"}) + "\n"
                                 for i in range(8)))
    result = CliRunner().invoke(app, ["report", str(project), "--reference", str(reference), "--sample", "10"])
    assert result.exit_code == 0, result.output
    html = (project / "report" / "index.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the hostile subdomain name, escaped
    assert html.count("<svg") >= 4 and 'src="data:image/png;base64,' in html

    metrics = json.loads((project / "report" / "metrics.json").read_text())
    assert metrics["sample_size"] == 10
    assert metrics["diversity"]["prompts"]["total"] == 31 and metrics["diversity"]["prompts"]["sample_size"] == 10
    assert metrics["counts"] == {**metrics["counts"], "prompts": 31, "answers": 8}
    assert metrics["review"]["llm_scores"]["style"] == {"n": 12, "mean": 4.0, "counts": {"4": 12}}
    funnel = {step["name"]: step for step in metrics["funnel"]}
    assert funnel["answer_eval"]["dropped"] == {"low_score": 4}
    assert metrics["reference"]["compared_sample_size"] == 8
    assert 0 <= metrics["reference"]["copy_check"]["share_below"] <= 1
    assert "quarks" in [row["subdomain"] for row in metrics["coverage"]["subdomains"]]


def test_a_reference_without_prompts_is_an_error_naming_the_line(tmp_path):
    project = make_project(tmp_path / "p")
    reference = tmp_path / "human.jsonl"
    reference.write_text('{"prompt": "fine"}\n{"answer": "no prompt"}\n')
    result = CliRunner().invoke(app, ["report", str(project), "--reference", str(reference)])
    assert result.exit_code == 2
    assert "human.jsonl:2: no prompt found" in " ".join(result.output.split())
    assert not (project / "report" / "index.html").exists()
