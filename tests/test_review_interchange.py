"""Label Studio and Argilla round trips through the CLI: export, annotate the file as the tool would export
it, import, and the store holds the same decisions; unknown ids are reported, a second import adds none."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.project import Project
from sftgen.review.decisions import ReviewLog
from tests.support.review_project import make_review_project, seed_answer, seed_prompts

EDITED = "Which quark flavours exist, and what are their electric charges?"


@pytest.fixture
def project(tmp_path):
    root = make_review_project(tmp_path / "p")
    prompts = seed_prompts(root)
    answer = seed_answer(root, prompts[0], "Six flavours [1]; charges +2/3 and -1/3 [2].",
                         {"style": 4, "domain": 5, "groundedness": 3})
    return root, prompts, answer


def sftgen(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def stored(project_dir):
    store = Project.open(project_dir).store()
    try:
        return sorted(
            (d.item_id, d.reviewer, d.decision, d.reason, d.edited_text, d.scores, d.seconds, d.source)
            for d in ReviewLog(store).decisions()
        )
    finally:
        store.close()


def expected(prompts, answer, who, source, seconds=None):
    return sorted([
        (prompts[0].id, who("ana"), "accept", None, None, {}, None, source),
        (prompts[1].id, who("ana"), "reject", "unclear", None, {}, None, source),
        (prompts[2].id, who("bob"), "edit", None, EDITED, {}, None, source),
        (answer.id, who("ana"), "accept", None, None, {"style": 4, "domain": 2, "groundedness": 5}, seconds, source),
    ])


def test_label_studio_round_trip(tmp_path, project):
    root, prompts, answer = project
    out = tmp_path / "tasks.json"
    result = sftgen("review", root, "--export", "labelstudio", out)
    assert result.exit_code == 0, result.output
    tasks = json.loads(out.read_text())
    assert len(tasks) == 4 and all(set(t) >= {"data", "meta"} for t in tasks)
    by_id = {t["data"]["record_id"]: t for t in tasks}
    assert by_id[answer.id]["data"]["prompt"] == prompts[0].text and "Passage 1" in by_id[answer.id]["data"]["passages"]
    assert {r["from_name"]: r["value"]["rating"] for r in by_id[answer.id]["predictions"][0]["result"]} == {
        "score_style": 4, "score_domain": 5, "score_groundedness": 3}
    config = (tmp_path / "tasks.json.label_config.xml").read_text()
    assert '<Rating name="score_groundedness"' in config and "<Choice value=\"unclear\"/>" in config

    def region(name, kind, value):
        return {"id": f"r-{name}", "from_name": name, "to_name": "text", "type": kind, "value": value,
                "origin": "manual"}

    annotations = {
        prompts[0].id: ("ana@lab.org", [region("decision", "choices", {"choices": ["accept"]})]),
        prompts[1].id: ("ana@lab.org", [region("decision", "choices", {"choices": ["reject"]}),
                                         region("reject_reason", "choices", {"choices": ["unclear"]})]),
        prompts[2].id: ("bob@lab.org", [region("decision", "choices", {"choices": ["edit"]}),
                                         region("edited_text", "textarea", {"text": [EDITED]})]),
        answer.id: ("ana@lab.org", [region("decision", "choices", {"choices": ["accept"]}),
                                     region("score_style", "rating", {"rating": 4}),
                                     region("score_domain", "rating", {"rating": 2}),
                                     region("score_groundedness", "rating", {"rating": 5})]),
    }
    exported = []
    for number, task in enumerate(tasks, 1):  # Label Studio's own task ids, and its export fields
        email, result_regions = annotations[task["data"]["record_id"]]
        exported.append({**task, "id": number, "project": 7, "annotations": [
            {"id": 100 + number, "completed_by": {"id": 3, "email": email}, "result": result_regions,
             "was_cancelled": False, "lead_time": 12.5, "created_at": "2026-11-24T10:00:00Z"},
            {"id": 200 + number, "completed_by": 9, "result": [], "was_cancelled": True},
        ]})
    exported.append({"id": 99, "data": {"record_id": "pro_not_in_this_project", "text": "x"}, "annotations": [
        {"id": 999, "completed_by": 3, "result": [region("decision", "choices", {"choices": ["accept"]})]}]})
    back = tmp_path / "export.json"
    back.write_text(json.dumps(exported))

    result = sftgen("review", root, "--import", back)
    assert result.exit_code == 2 and "unknown id pro_not_in_this_project" in result.output
    assert "4 decisions recorded" in result.output
    want = expected(prompts, answer, lambda name: f"labelstudio:{name}@lab.org", "labelstudio")
    assert stored(root) == [row[:6] + (12.5,) + row[7:] for row in want]
    again = sftgen("review", root, "--import", back)
    assert "0 decisions recorded, 4 imported before" in again.output
    assert len(stored(root)) == 4


def test_argilla_round_trip(tmp_path, project):
    root, prompts, answer = project
    out = tmp_path / "records.json"
    assert sftgen("review", root, "--export", "argilla", out).exit_code == 0
    records = json.loads(out.read_text())
    assert all(set(r) == {"id", "fields", "metadata", "suggestions", "responses", "vectors", "_server_id"}
               for r in records)
    by_id = {r["id"]: r for r in records}
    assert by_id[answer.id]["suggestions"]["score_domain"] == {"value": 5, "score": None, "agent": "sftgen-llm-judge"}
    settings = json.loads((tmp_path / "records.json.settings.json").read_text())
    assert {q["name"] for q in settings["questions"]} >= {"decision", "reject_reason", "edited_text", "score_style"}

    def responses(user, **answers):
        return {question: [{"value": value, "user_id": user, "status": "submitted"}]
                for question, value in answers.items()}

    by_id[prompts[0].id]["responses"] = responses("ana", decision="accept")
    by_id[prompts[1].id]["responses"] = responses("ana", decision="reject", reject_reason="unclear")
    by_id[prompts[2].id]["responses"] = responses("bob", decision="edit", edited_text=EDITED)
    answer_responses = responses("ana", decision="accept", score_style=4, score_domain=2, score_groundedness=5)
    answer_responses["decision"].append({"value": "reject", "user_id": "cy", "status": "draft"})  # not submitted
    by_id[answer.id]["responses"] = answer_responses
    records.append({"id": "ans_unknown", "fields": {"text": "?"}, "responses": responses("ana", decision="accept")})
    back = tmp_path / "annotated.json"
    back.write_text(json.dumps(records))

    result = sftgen("review", root, "--import", back)
    assert "4 decisions recorded" in result.output and "unknown id ans_unknown" in result.output
    assert stored(root) == expected(prompts, answer, lambda name: f"argilla:{name}", "argilla")


def test_an_unreadable_file_is_named(tmp_path, project):
    root, _, _ = project
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    result = sftgen("review", root, "--import", bad)
    assert result.exit_code == 2 and "bad.json" in result.output and "expected a list" in result.output
