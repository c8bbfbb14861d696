"""A prompt's candidate answers through a real Label Studio (1.23, on 127.0.0.1): the export's labeling config
(with the `pick` control over the candidates) and tasks go in through its REST API; annotations are made as
its UI makes them: a pick accepted as it is, a pick edited, a pick left with the edit box as it started (the
judge's pick's text), a rejection of all, an accept with no candidate picked; its JSON, JSON-MIN and CSV exports
come back through `sftgen review --import`; the next run applies the picks, and the preference export holds
exactly the pick's and the edit's pairs. The judge's pick is never sent as a prediction."""

from __future__ import annotations

import json
import time

import pytest

from sftgen.decisions.log import ReviewLog
from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.candidate_project import JudgeByText, gate_output, make_candidate_project, run_steps
from tests.support.labelstudio_results import EXPANDED, choice, sftgen, text
from tests.support.labelstudio_server import running_label_studio
from tests.support.review_runs import exported

pytestmark = [pytest.mark.interop, pytest.mark.timeout(2400)]

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
    ("What is a baryon made of, and how does it differ from a meson?", "quarks"),
    ("Why can a free quark never be observed in a detector?", "gluons"),
    ("What holds the protons of a nucleus together?", "gluons"),
]
EDITED = "Gluons carry colour charge, so they couple to each other; photons carry no electric charge [1]."




def export_snapshot(client, project_id, fmt):
    created = client.post(f"/api/projects/{project_id}/exports/", json={"title": "sftgen", "serialization_options": EXPANDED})
    assert created.status_code == 201, created.text
    export_id = created.json()["id"]
    for _ in range(120):
        if client.get(f"/api/projects/{project_id}/exports/{export_id}").json()["status"] == "completed":
            break
        time.sleep(0.5)
    download = client.get(f"/api/projects/{project_id}/exports/{export_id}/download", params={"exportType": fmt})
    assert download.status_code == 200, download.text[:300]
    return download.content


def test_label_studio_picks_among_candidates_flow_back_as_the_experts(tmp_path):
    root = tmp_path / "p"
    with running_fake_server() as llm:
        judge = JudgeByText(default=3)
        sets = make_candidate_project(root, PROMPTS, llm, judge, policy="all", kinds=["answer"])
        tasks_file = tmp_path / "tasks.json"
        assert sftgen("review", root, "--export", "labelstudio", tasks_file).exit_code == 0
        tasks = json.loads(tasks_file.read_text())
        config = (tmp_path / "tasks.json.label_config.xml").read_text()
        assert len(tasks) == 5 and [t["data"]["candidate_ids"] for t in tasks] == [s.ids for s in sets]
        assert '<Choices name="pick" toName="text" value="$pick_options"' in config
        for task, candidates in zip(tasks, sets):
            assert [o["value"] for o in task["data"]["pick_options"]] == ["candidate 1", "candidate 2", "candidate 3"]
            assert "Candidate 2 (the judge's pick)" in task["data"]["text"]
            # the only prediction is the edit box's prefill (the judge's pick's text): the pick is never predicted
            assert [(r["from_name"], r["value"]["text"]) for r in task["predictions"][0]["result"]] == [
                ("edited_text", [candidates.texts[1]])]

        with running_label_studio(tmp_path) as server, server.client() as ls:
            made = ls.post("/api/projects/", json={"title": "sftgen candidates", "label_config": config})
            assert made.status_code == 201, made.text  # Label Studio accepts the config with the pick control
            project_id = made.json()["id"]
            imported = ls.post(f"/api/projects/{project_id}/import", json=tasks)
            assert imported.status_code == 201 and imported.json()["task_count"] == 5, imported.text
            by_record = {}
            for task in ls.get("/api/tasks/", params={"project": project_id, "fields": "all"}).json()["tasks"]:
                prediction = ls.get("/api/predictions/", params={"task": task["id"]}).json()[0]
                task["prefill"], task["prediction_id"] = prediction["result"], prediction["id"]
                by_record[task["data"]["record_id"]] = task

            def annotate(candidates, result):
                task = by_record[candidates.ids[0]]
                body = {"result": result, "lead_time": 4.0, "parent_prediction": task["prediction_id"]}
                response = ls.post(f"/api/tasks/{task['id']}/annotations/", json=body)
                assert response.status_code == 201, response.text

            def untouched(candidates):
                return [dict(region, origin="prediction") for region in by_record[candidates.ids[0]]["prefill"]]

            annotate(sets[0], [choice("pick", "candidate 3"), choice("decision", "accept"), *untouched(sets[0])])
            annotate(sets[1], [choice("pick", "candidate 1"), choice("decision", "edit"),
                               text("edited_text", EDITED, "prediction-changed")])
            annotate(sets[2], [choice("decision", "reject"), choice("reject_reason", "incorrect")])
            annotate(sets[3], [choice("decision", "accept"), *untouched(sets[3])])  # no candidate picked
            annotate(sets[4], [choice("pick", "candidate 1"), choice("decision", "edit"), *untouched(sets[4])])
            files = {fmt: tmp_path / f"export_{fmt}.{'csv' if fmt == 'CSV' else 'json'}" for fmt in ("JSON", "JSON_MIN", "CSV")}
            for fmt, path in files.items():
                path.write_bytes(export_snapshot(ls, project_id, fmt))

        result = sftgen("review", root, "--import", files["JSON"])
        assert "6 decisions recorded, 0 imported before" in result.output, result.output
        assert "without a candidate picked" in result.output  # the fourth task: nothing recorded for it
        for fmt in ("JSON_MIN", "CSV"):  # no origin there: the untouched prefill comes back as text
            again = sftgen("review", root, "--import", files[fmt])
            assert "0 decisions recorded, 6 imported before" in again.output, (fmt, again.output)
        requests = judge.requests
        run_steps(root, llm, "answer_eval", "answer_review_gate")
        assert judge.requests == requests  # the decisions flow back without asking the LLM

    store = Project.open(root).store()
    try:
        decisions = ReviewLog(store).decisions()
    finally:
        store.close()
    assert sorted((d.item_id, d.decision, d.picked) for d in decisions) == sorted(
        [(sets[0].ids[2], "accept", True), (sets[1].ids[0], "edit", True), (sets[4].ids[0], "accept", True)]
        + [(candidate, "reject", False) for candidate in sets[2].ids])
    assert all(d.source == "labelstudio" for d in decisions)
    edit = next(d for d in decisions if d.decision == "edit")

    after = {record.id: record.meta for record in gate_output(root)}
    assert [after[i]["chosen"] for i in sets[0].ids] == [False, False, True]
    assert [after[i]["judge_chosen"] for i in sets[0].ids] == [False, True, False]
    assert [after[i]["chosen_by"] for i in sets[3].ids] == ["judge"] * 3  # the unpicked accept changed nothing
    assert not set(sets[2].ids) & set(after)

    rows = exported(root, "preferences")
    reviewer = decisions[0].reviewer
    a, b, e = sets[0], sets[1], sets[4]
    assert sorted((r["source"], r["chosen_id"], r["rejected_id"], r["reviewer"]) for r in rows) == sorted([
        ("expert_pick", a.ids[2], a.ids[0], reviewer), ("expert_pick", a.ids[2], a.ids[1], reviewer),
        ("expert_edit", edit.new_version_id, b.ids[0], reviewer),
        ("expert_pick", edit.new_version_id, b.ids[1], reviewer),
        ("expert_pick", edit.new_version_id, b.ids[2], reviewer),
        ("expert_pick", e.ids[0], e.ids[1], reviewer), ("expert_pick", e.ids[0], e.ids[2], reviewer),
    ])
    texts = {r["chosen_id"]: r["chosen"][0]["content"] for r in rows}
    assert texts[edit.new_version_id] == EDITED and texts[a.ids[2]] == a.texts[2] and texts[e.ids[0]] == e.texts[0]
