"""Against a real Label Studio (1.23, SQLite, on 127.0.0.1): our labeling config and tasks go in through
its REST API, annotations are made through the API as its UI makes them (accept, reject with a listed
reason and a reason in words, edit, ratings of an answer, an untouched prediction, an annotation updated
later), its JSON, JSON-MIN and CSV exports come back through the API and `sftgen review --import` reads
them, and the next `sftgen run` applies them."""

from __future__ import annotations

import json
import time

import pytest

from sftgen.project import Project
from sftgen.decisions.log import ReviewLog
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.labelstudio_results import EXPANDED, choice, sftgen, text
from tests.support.labelstudio_server import EMAIL, running_label_studio
from tests.support.review_project import seed_prompts
from tests.support.review_runs import exported, project_with_review, run_from_review_gate, scores_every_answer

pytestmark = [pytest.mark.interop, pytest.mark.timeout(2400)]

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
    ("What is a baryon made of, and how does it differ from a meson?", "quarks"),
    ("Why can a free quark never be observed in a detector?", "gluons"),
]
EDITED = "Which hadrons are made of three quarks, and which of a quark and an antiquark?"




def untouched(task):
    """The task's prediction (the edit box's prefill) as the UI keeps it when nobody changes it."""
    return [dict(region, origin="prediction") for region in task["predictions_result"]]


def export_snapshot(client, project_id, fmt, options=EXPANDED):
    created = client.post(f"/api/projects/{project_id}/exports/", json={"title": "sftgen", "serialization_options": options})
    assert created.status_code == 201, created.text
    export_id = created.json()["id"]
    for _ in range(120):
        if client.get(f"/api/projects/{project_id}/exports/{export_id}").json()["status"] == "completed":
            break
        time.sleep(0.5)
    download = client.get(f"/api/projects/{project_id}/exports/{export_id}/download", params={"exportType": fmt})
    assert download.status_code == 200, download.text[:300]
    return download.content


def decisions_in(project_dir):
    store = Project.open(project_dir).store()
    try:
        return ReviewLog(store).decisions()
    finally:
        store.close()


def test_label_studio_round_trip_and_the_next_run_applies_it(tmp_path):
    project = project_with_review(tmp_path / "p")
    prompts = seed_prompts(project, PROMPTS)
    with running_fake_server() as llm:
        llm.script_steps(scores_every_answer(4))
        run_from_review_gate(project, llm)
        answers = {row["prompt_id"]: row["answer_id"] for row in exported(project, "sft")}
        assert len(answers) == 4

        tasks_file = tmp_path / "tasks.json"
        assert sftgen("review", project, "--export", "labelstudio", tasks_file).exit_code == 0
        config = (tmp_path / "tasks.json.label_config.xml").read_text()
        with running_label_studio(tmp_path) as server, server.client() as ls:
            made = ls.post("/api/projects/", json={"title": "sftgen review", "label_config": config})
            assert made.status_code == 201, made.text  # Label Studio accepts our config
            project_id = made.json()["id"]
            imported = ls.post(f"/api/projects/{project_id}/import", json=json.loads(tasks_file.read_text()))
            assert imported.status_code == 201 and imported.json()["task_count"] == 8, imported.text
            bob = ls.post("/api/users/", json={"email": "bob@lab.org", "username": "bob", "password": "sftgen-pass-2"})
            assert bob.status_code == 201, bob.text
            tasks = {}
            for task in ls.get("/api/tasks/", params={"project": project_id, "fields": "all"}).json()["tasks"]:
                predictions = ls.get("/api/predictions/", params={"task": task["id"]}).json()
                task["predictions_result"] = predictions[0]["result"]
                task["prediction_id"] = predictions[0]["id"]
                tasks[task["data"]["record_id"]] = task

            def annotate(record_id, result, by=None, lead_time=7.5):
                task = tasks[record_id]
                body = {"result": result, "lead_time": lead_time, "parent_prediction": task["prediction_id"]}
                if by is not None:
                    body["completed_by"] = by
                response = ls.post(f"/api/tasks/{task['id']}/annotations/", json=body)
                assert response.status_code == 201, response.text
                return response.json()["id"]

            p0, p1, p2, p3 = (p.id for p in prompts)
            annotate(p0, [choice("decision", "accept"), *untouched(tasks[p0])])
            annotate(p1, [choice("decision", "reject"), choice("reject_reason", "unclear"),
                          text("reason_text", "asks two things at once"), *untouched(tasks[p1])])
            annotate(p2, [choice("decision", "edit"), text("edited_text", EDITED, "prediction-changed")],
                     by=bob.json()["id"])
            later = annotate(p3, [choice("decision", "reject"), choice("reject_reason", "duplicate")])
            annotate(answers[p0], [choice("decision", "accept"), choice("score_style", "4"),
                                   choice("score_domain", "2"), choice("score_groundedness", "5"),
                                   *untouched(tasks[answers[p0]])])
            annotate(answers[p3], [choice("decision", "accept"), *untouched(tasks[answers[p3]])], by=bob.json()["id"])
            annotate(answers[p1], [choice("decision", "accept")])  # the answer of a prompt rejected above

            files = {}
            for fmt, name in (("JSON", "export.json"), ("JSON_MIN", "export_min.json"), ("CSV", "export.csv")):
                files[fmt] = tmp_path / name
                files[fmt].write_bytes(export_snapshot(ls, project_id, fmt))
            plain = tmp_path / "plain.json"  # the plain export names users by id only
            plain.write_bytes(ls.get(f"/api/projects/{project_id}/export", params={"exportType": "JSON"}).content)

            result = sftgen("review", project, "--import", files["JSON"])
            assert result.exit_code == 0 and "7 decisions recorded, 0 imported before" in result.output, result.output
            for fmt in ("JSON_MIN", "CSV"):
                again = sftgen("review", project, "--import", files[fmt])
                assert again.exit_code == 0 and "0 decisions recorded, 7 imported before" in again.output, again.output
            by_id = sftgen("review", project, "--import", plain)
            assert "0 decisions recorded, 7 imported before" in by_id.output and "only_id" in by_id.output

            updated = ls.patch(f"/api/annotations/{later}/", json={"result": [choice("decision", "accept")]})
            assert updated.status_code == 200, updated.text  # the UI's Update button
            files["JSON_MIN"].write_bytes(export_snapshot(ls, project_id, "JSON_MIN"))
        result = sftgen("review", project, "--import", files["JSON_MIN"])
        assert "1 decisions recorded, 6 imported before" in result.output, result.output

        decisions = {(d.item_id, d.seq): d for d in decisions_in(project)}
        latest = {}
        for (item_id, _), decision in sorted(decisions.items(), key=lambda pair: pair[0][1]):
            latest[item_id] = decision
        assert {item: (d.reviewer, d.decision) for item, d in latest.items()} == {
            p0: (EMAIL, "accept"), p1: (EMAIL, "reject"), p2: ("bob@lab.org", "edit"), p3: (EMAIL, "accept"),
            answers[p0]: (EMAIL, "accept"), answers[p1]: (EMAIL, "accept"), answers[p3]: ("bob@lab.org", "accept")}
        assert latest[p1].reason == "unclear: asks two things at once"
        assert latest[p2].edited_text == EDITED
        assert latest[answers[p0]].scores == {"style": 4, "domain": 2, "groundedness": 5}
        assert latest[answers[p3]].scores == {} and latest[answers[p3]].edited_text is None  # the prefill, untouched
        assert all(d.source == "labelstudio" and d.seconds == 7.5 for d in latest.values())

        run_from_review_gate(project, llm)

    sft = {row["prompt_id"]: row for row in exported(project, "sft")}
    edited = next(d for d in latest.values() if d.decision == "edit")
    assert set(sft) == {p0, edited.new_version_id, p3}  # the rejected prompt's answer is gone
    assert sft[edited.new_version_id]["messages"][-2]["content"] == EDITED  # answered anew
    assert sft[p0]["answer_id"] == answers[p0] and sft[p3]["answer_id"] == answers[p3]
    status = json.loads(sftgen("status", project, "--json").output)
    assert status["review"]["prompt"]["waiting_for_run"] == 0 and status["review"]["answer"]["waiting_for_run"] == 0
    assert status["review"]["answer"]["set_aside"] == 1  # the accept of the rejected prompt's answer
    export = sftgen("export", project, "--what", "sft", "--out", tmp_path / "sft.jsonl")
    assert export.exit_code == 0 and "not in this export yet" not in export.output
