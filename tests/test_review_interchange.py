"""Label Studio and Argilla round trips through the CLI, on files shaped as each tool's exports are (the
tests in test_interop_labelstudio.py and test_interop_argilla.py make them with the real packages): export,
annotate, import, and the store holds the same decisions; unknown ids are reported, a second import adds
none, a changed annotation is a new decision, predictions and drafts never count as the expert's."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.project import Project
from sftgen.decisions.log import ReviewLog
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
        (prompts[0].id, who("ana"), "accept", None, None, {}, seconds, source),
        (prompts[1].id, who("ana"), "reject", "unclear: asks two things at once", None, {}, seconds, source),
        (prompts[2].id, who("bob"), "edit", None, EDITED, {}, seconds, source),
        (answer.id, who("ana"), "accept", None, None, {"style": 4, "domain": 2, "groundedness": 5}, seconds, source),
    ])


def region(name, kind, value, origin="manual"):
    return {"id": f"r-{name}", "from_name": name, "to_name": "text", "type": kind, "value": value, "origin": origin}


def label_studio_annotations(prompts, answer):
    """(email, regions) per record, as Label Studio's JSON export writes an annotation's result."""
    return {
        prompts[0].id: ("ana@lab.org", [region("decision", "choices", {"choices": ["accept"]})]),
        prompts[1].id: ("ana@lab.org", [region("decision", "choices", {"choices": ["reject"]}),
                                         region("reject_reason", "choices", {"choices": ["unclear"]}),
                                         region("reason_text", "textarea", {"text": ["asks two things at once"]})]),
        prompts[2].id: ("bob@lab.org", [region("decision", "choices", {"choices": ["edit"]}),
                                         region("edited_text", "textarea", {"text": [EDITED]}, "prediction-changed")]),
        answer.id: ("ana@lab.org", [region("decision", "choices", {"choices": ["accept"]}),
                                     region("score_style", "choices", {"choices": ["4"]}),
                                     region("score_domain", "choices", {"choices": ["2"]}),
                                     region("score_groundedness", "choices", {"choices": ["5"]}),
                                     region("edited_text", "textarea", {"text": [answer.text]}, "prediction")]),
    }


def label_studio_export(tasks, annotations):
    exported = []
    for number, task in enumerate(tasks, 1):  # Label Studio's own task ids, and its export fields
        email, result_regions = annotations[task["data"]["record_id"]]
        exported.append({**task, "id": number, "project": 7, "annotations": [
            {"id": 100 + number, "completed_by": {"id": 3, "email": email}, "result": result_regions,
             "was_cancelled": False, "lead_time": 12.5, "created_at": "2026-11-24T10:00:00Z"},
            {"id": 200 + number, "completed_by": 9, "result": [], "was_cancelled": True},
        ]})
    return exported


def exported_tasks(tmp_path, root):
    out = tmp_path / "tasks.json"
    result = sftgen("review", root, "--export", "labelstudio", out)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), (tmp_path / "tasks.json.label_config.xml").read_text()


def test_label_studio_tasks_label_every_part_and_rate_only_answers(tmp_path, project):
    root, prompts, answer = project
    tasks, config = exported_tasks(tmp_path, root)
    assert len(tasks) == 4 and all(set(t) >= {"data", "meta", "predictions"} for t in tasks)
    by_id = {t["data"]["record_id"]: t for t in tasks}
    data = by_id[answer.id]["data"]
    assert data["heading"] == "Answer to review (quarks)" and data["prompt"] == prompts[0].text
    assert data["prompt_heading"] and "Passage 1" in data["passages"] and data["passages_heading"]
    assert data["judge"].splitlines() == ["style: 4 (judge says 4)", "domain: 5 (judge says 5)",
                                          "groundedness: 3 (judge says 3)"]
    assert [o["value"] for o in data["score_options"]] == ["1", "2", "3", "4", "5"]
    prompt_data = by_id[prompts[0].id]["data"]
    assert prompt_data["score_options"] == [] and prompt_data["rating_heading"] == "" and prompt_data["judge"] == ""
    # the only prediction prefills the edit box with the text: no score is ever predicted
    for task in tasks:
        assert [(r["from_name"], r["value"]["text"]) for r in task["predictions"][0]["result"]] == [
            ("edited_text", [task["data"]["text"]])]
    assert '<Choices name="score_groundedness" toName="text" value="$score_options"' in config
    assert "<Choice value=\"unclear\"/>" in config and '<Header value="$prompt_heading"' in config


def test_label_studio_json_round_trip(tmp_path, project):
    root, prompts, answer = project
    tasks, _ = exported_tasks(tmp_path, root)
    exported = label_studio_export(tasks, label_studio_annotations(prompts, answer))
    exported.append({"id": 99, "data": {"record_id": "pro_not_in_this_project", "text": "x"}, "annotations": [
        {"id": 999, "completed_by": 3, "result": [region("decision", "choices", {"choices": ["accept"]})]}]})
    back = tmp_path / "export.json"
    back.write_text(json.dumps(exported))

    result = sftgen("review", root, "--import", back)
    assert result.exit_code == 2 and "unknown id pro_not_in_this_project" in result.output
    assert "4 decisions recorded" in result.output
    assert stored(root) == expected(prompts, answer, lambda name: f"{name}@lab.org", "labelstudio", 12.5)
    again = sftgen("review", root, "--import", back)
    assert "0 decisions recorded, 4 imported before" in again.output
    assert len(stored(root)) == 4


def test_an_untouched_predicted_region_is_not_the_experts(tmp_path, project):
    root, prompts, answer = project
    tasks, _ = exported_tasks(tmp_path, root)
    task = next(t for t in tasks if t["data"]["record_id"] == answer.id)
    annotation = [region("decision", "choices", {"choices": ["accept"]}),
                  region("score_style", "rating", {"rating": 3}, "prediction"),
                  region("score_domain", "rating", {"rating": 4}, "prediction-changed")]
    back = tmp_path / "export.json"
    back.write_text(json.dumps(label_studio_export([task], {answer.id: ("ana@lab.org", annotation)})))
    assert "1 decisions recorded" in sftgen("review", root, "--import", back).output
    assert [row[5] for row in stored(root)] == [{"domain": 4}]


def test_an_updated_annotation_is_a_new_decision(tmp_path, project):
    root, prompts, _ = project
    tasks, _ = exported_tasks(tmp_path, root)
    task = next(t for t in tasks if t["data"]["record_id"] == prompts[0].id)
    back = tmp_path / "export.json"
    first = label_studio_export([task], {prompts[0].id: ("ana@lab.org", [region("decision", "choices", {"choices": ["accept"]})])})
    back.write_text(json.dumps(first))
    assert "1 decisions recorded" in sftgen("review", root, "--import", back).output
    updated = json.loads(json.dumps(first))  # Label Studio's Update: the same annotation id, a new result
    updated[0]["annotations"][0]["result"] = [region("decision", "choices", {"choices": ["reject"]}),
                                              region("reject_reason", "choices", {"choices": ["duplicate"]})]
    back.write_text(json.dumps(updated))
    assert "1 decisions recorded, 0 imported before" in sftgen("review", root, "--import", back).output
    back.write_text(json.dumps(first))  # changed back again: the accept is the latest word once more
    assert "1 decisions recorded" in sftgen("review", root, "--import", back).output
    assert "0 decisions recorded, 1 imported before" in sftgen("review", root, "--import", back).output
    store = Project.open(root).store()
    try:
        decisions = ReviewLog(store).decisions([prompts[0].id])
        assert [d.decision for d in decisions] == ["accept", "reject", "accept"]
        assert len({d.external_id for d in decisions}) == 3
        assert all(d.external_id.startswith(f"labelstudio:{prompts[0].id}:101@") for d in decisions)
        assert ReviewLog(store).state(prompts[0].id, 1).status == "accepted"
    finally:
        store.close()


def min_rows(tasks, annotations):
    """Label Studio's JSON-MIN: the task data, then a column per control, per annotation."""
    rows = []
    for number, task in enumerate(tasks, 1):
        email, regions = annotations[task["data"]["record_id"]]
        row = {**task["data"], "id": number}
        for r in regions:
            value = r["value"]
            row[r["from_name"]] = value["choices"][0] if "choices" in value else value["text"][0]
        row.update(annotator=email, annotation_id=100 + number, created_at="2026-11-24T10:00:00Z",
                   updated_at="2026-11-24T10:00:00Z", lead_time=12.5)
        rows.append(row)
    rows.append({**tasks[0]["data"], "id": 99, "annotator": None, "annotation_id": None, "created_at": None,
                 "updated_at": None, "lead_time": None})  # a task nobody annotated
    return rows


def test_label_studio_json_min_round_trip(tmp_path, project):
    root, prompts, answer = project
    tasks, _ = exported_tasks(tmp_path, root)
    back = tmp_path / "export_min.json"
    back.write_text(json.dumps(min_rows(tasks, label_studio_annotations(prompts, answer))))
    result = sftgen("review", root, "--import", back)
    assert result.exit_code == 0 and "4 decisions recorded" in result.output, result.output
    assert stored(root) == expected(prompts, answer, lambda name: f"{name}@lab.org", "labelstudio", 12.5)


def test_label_studio_csv_round_trip_and_the_same_annotations_from_json_are_not_imported_twice(tmp_path, project):
    root, prompts, answer = project
    tasks, _ = exported_tasks(tmp_path, root)
    annotations = label_studio_annotations(prompts, answer)
    rows = min_rows(tasks, annotations)
    buffer = io.StringIO()
    columns = sorted({key for row in rows for key in row})
    writer = csv.DictWriter(buffer, fieldnames=columns, quoting=csv.QUOTE_NONNUMERIC)  # as Label Studio writes it
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else ("" if v is None else v)
                         for k, v in row.items()})
    back = tmp_path / "export.csv"
    back.write_text(buffer.getvalue())
    result = sftgen("review", root, "--import", back)
    assert "4 decisions recorded" in result.output, result.output
    assert stored(root) == expected(prompts, answer, lambda name: f"{name}@lab.org", "labelstudio", 12.5)
    as_json = tmp_path / "export.json"
    as_json.write_text(json.dumps(label_studio_export(tasks, annotations)))
    assert "0 decisions recorded, 4 imported before" in sftgen("review", root, "--import", as_json).output


def test_a_reviewer_known_by_id_only_is_namespaced_and_the_import_says_how_to_get_emails(tmp_path, project):
    root, prompts, _ = project
    tasks, _ = exported_tasks(tmp_path, root)
    task = next(t for t in tasks if t["data"]["record_id"] == prompts[0].id)
    exported = label_studio_export([task], {prompts[0].id: ("x", [region("decision", "choices", {"choices": ["accept"]})])})
    exported[0]["annotations"][0]["completed_by"] = 3
    back = tmp_path / "export.json"
    back.write_text(json.dumps(exported))
    result = sftgen("review", root, "--import", back)
    assert "only_id" in " ".join(result.output.split())
    assert [row[1] for row in stored(root)] == ["labelstudio:3"]


def argilla_records(tmp_path, root):
    out = tmp_path / "records.json"
    assert sftgen("review", root, "--export", "argilla", out).exit_code == 0
    return json.loads(out.read_text()), json.loads((tmp_path / "records.json.settings.json").read_text())


def test_argilla_records_and_settings(tmp_path, project):
    root, prompts, answer = project
    records, settings = argilla_records(tmp_path, root)
    assert all(set(r) == {"id", "fields", "metadata", "suggestions", "responses", "vectors", "_server_id"}
               for r in records)
    by_id = {r["id"]: r for r in records}
    assert by_id[answer.id]["suggestions"] == {"edited_text": {"value": answer.text, "score": None,
                                                               "agent": "sftgen-prefill"}}
    assert "style: 4" in by_id[answer.id]["fields"]["judge"] and "judge" not in by_id[prompts[0].id]["fields"]
    assert {q["name"] for q in settings["questions"]} >= {"decision", "reject_reason", "reason_text", "edited_text",
                                                          "score_style"}
    declared = {m["name"] for m in settings["metadata"]}
    assert all(set(r["metadata"]) <= declared for r in records) and settings["allow_extra_metadata"] is False


def responses(user, status="submitted", **answers):
    return {question: [{"value": value, "user_id": user, "status": status}] for question, value in answers.items()}


def test_argilla_nested_round_trip_skips_drafts_and_discards(tmp_path, project):
    root, prompts, answer = project
    records, _ = argilla_records(tmp_path, root)
    by_id = {r["id"]: r for r in records}
    by_id[prompts[0].id]["responses"] = responses("ana", decision="accept")
    by_id[prompts[1].id]["responses"] = responses("ana", decision="reject", reject_reason=["unclear"],
                                                  reason_text="asks two things at once")
    by_id[prompts[2].id]["responses"] = responses("bob", decision="edit", edited_text=EDITED)
    answer_responses = responses("ana", decision="accept", score_style=4, score_domain=2, score_groundedness=5)
    answer_responses["decision"].append({"value": "reject", "user_id": "cy", "status": "draft"})
    answer_responses["decision"].append({"value": "reject", "user_id": "dan", "status": "discarded"})
    by_id[answer.id]["responses"] = answer_responses
    records.append({"id": "ans_unknown", "fields": {"text": "?"}, "responses": responses("ana", decision="accept")})
    back = tmp_path / "annotated.json"
    back.write_text(json.dumps(records))

    result = sftgen("review", root, "--import", back)
    assert "4 decisions recorded" in result.output and "unknown id ans_unknown" in result.output
    assert stored(root) == expected(prompts, answer, lambda name: f"argilla:{name}", "argilla")


def test_argilla_nested_responses_without_a_status_are_refused(tmp_path, project):
    root, prompts, _ = project
    records, _ = argilla_records(tmp_path, root)
    records[0]["responses"] = {"decision": [{"value": "accept", "user_id": "ana"}]}  # as to_json writes them
    back = tmp_path / "to_json.json"
    back.write_text(json.dumps(records))
    result = sftgen("review", root, "--import", back)
    assert result.exit_code == 2 and "without its status" in " ".join(result.output.split())
    assert stored(root) == []


def flat(record, **columns):
    """A record as Argilla's to_list(flatten=True) gives it: fields and metadata at the top, responses as
    parallel lists per question."""
    row = {"id": record["id"], "status": "completed", "_server_id": None, **record["fields"], **record["metadata"],
           "edited_text.suggestion": record["suggestions"]["edited_text"]["value"],
           "edited_text.suggestion.score": None, "edited_text.suggestion.agent": "sftgen-prefill"}
    for question, entries in columns.items():
        row[f"{question}.responses"] = [value for value, _, _ in entries]
        row[f"{question}.responses.users"] = [user for _, user, _ in entries]
        row[f"{question}.responses.status"] = [status for _, _, status in entries]
    return row


def test_argilla_flat_round_trip_as_json_lines(tmp_path, project):
    root, prompts, answer = project
    records, _ = argilla_records(tmp_path, root)
    by_id = {r["id"]: r for r in records}
    rows = [
        flat(by_id[prompts[0].id], decision=[("accept", "ana", "submitted")]),
        flat(by_id[prompts[1].id], decision=[("reject", "ana", "submitted")],
             reject_reason=[(["unclear"], "ana", "submitted")], reason_text=[("asks two things at once", "ana", "submitted")]),
        flat(by_id[prompts[2].id], decision=[("edit", "bob", "submitted"), ("accept", "cy", "draft")],
             edited_text=[(EDITED, "bob", "submitted")]),
        flat(by_id[answer.id], decision=[("accept", "ana", "submitted"), ("reject", "dan", "discarded")],
             score_style=[(4, "ana", "submitted")], score_domain=[(2, "ana", "submitted")],
             score_groundedness=[(5, "ana", "submitted")]),
    ]
    back = tmp_path / "flat.jsonl"
    back.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = sftgen("review", root, "--import", back)
    assert result.exit_code == 0 and "4 decisions recorded" in result.output, result.output
    assert stored(root) == expected(prompts, answer, lambda name: f"argilla:{name}", "argilla")
    rows[0]["decision.responses"] = ["reject"]  # ana submits again, changed
    rows[0]["reject_reason.responses"], rows[0]["reject_reason.responses.users"] = [["duplicate"]], ["ana"]
    rows[0]["reject_reason.responses.status"] = ["submitted"]
    back.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert "1 decisions recorded, 3 imported before" in sftgen("review", root, "--import", back).output


def test_an_unreadable_file_is_named(tmp_path, project):
    root, _, _ = project
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    result = sftgen("review", root, "--import", bad)
    assert result.exit_code == 2 and "bad.json" in result.output and "expected a list" in result.output
