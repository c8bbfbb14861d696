"""A prompt's candidate answers through the real Argilla SDK (2.8, offline as in test_interop_argilla.py):
the settings carry a `pick` LabelQuestion over the candidates and their ids as declared metadata, the edit
box is the only suggestion (the judge's pick is never suggested); responses made with the SDK (a pick, a
pick edited, a rejection of all) come back through `sftgen review --import` as the experts' picks, and
after the next run the preference export holds exactly their pairs."""

from __future__ import annotations

import json

import pytest

from sftgen.decisions.log import ReviewLog
from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.candidate_project import JudgeByText, gate_output, make_candidate_project, run_steps
from tests.support.review_runs import exported
from tests.test_interop_argilla import ANA, BOB, sftgen, through_the_sdk

pytestmark = [pytest.mark.interop, pytest.mark.timeout(1800)]

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
    ("What is a baryon made of, and how does it differ from a meson?", "quarks"),
]
EDITED = "Gluons carry colour charge, so they couple to each other; photons carry no electric charge [1]."


def test_argilla_picks_among_candidates_flow_back_as_the_experts(tmp_path):
    root = tmp_path / "p"
    with running_fake_server() as llm:
        judge = JudgeByText(default=3)
        sets = make_candidate_project(root, PROMPTS, llm, judge, policy="all", kinds=["answer"])
        records_file = tmp_path / "records.json"
        assert sftgen("review", root, "--export", "argilla", records_file).exit_code == 0
        records = json.loads(records_file.read_text())
        assert [r["id"] for r in records] == [s.ids[0] for s in sets]
        assert [r["metadata"]["candidate_ids"] for r in records] == [",".join(s.ids) for s in sets]
        assert all(set(r["suggestions"]) == {"edited_text"} for r in records)
        assert [r["suggestions"]["edited_text"]["value"] for r in records] == [s.texts[1] for s in sets]
        a, b, c = sets
        plan = {
            a.ids[0]: [["pick", "candidate 3", ANA, "submitted"], ["decision", "accept", ANA, "submitted"],
                       ["edited_text", a.texts[1], ANA, "submitted"]],  # the suggestion, left as it was
            b.ids[0]: [["pick", "candidate 1", BOB, "submitted"], ["decision", "edit", BOB, "submitted"],
                       ["edited_text", EDITED, BOB, "submitted"]],
            c.ids[0]: [["decision", "reject", ANA, "submitted"], ["reject_reason", "incorrect", ANA, "submitted"],
                       ["pick", "candidate 2", BOB, "draft"], ["decision", "accept", BOB, "draft"]],
        }
        loaded = through_the_sdk(tmp_path, records_file, plan)
        assert loaded["questions"]["pick"] == "LabelQuestion" and loaded["suggestions"] == ["edited_text"]
        assert {"candidate_ids", "candidate_versions"} <= set(loaded["metadata"])
        assert loaded["undeclared_metadata"] == []

        result = sftgen("review", root, "--import", tmp_path / "sdk" / "flat.json")
        assert result.exit_code == 0 and "5 decisions recorded" in result.output, result.output
        again = sftgen("review", root, "--import", tmp_path / "sdk" / "flat.jsonl")
        assert "0 decisions recorded, 5 imported before" in again.output, again.output
        requests = judge.requests
        run_steps(root, llm, "answer_eval", "answer_review_gate")
        assert judge.requests == requests

    store = Project.open(root).store()
    try:
        decisions = ReviewLog(store).decisions()
    finally:
        store.close()
    assert sorted((d.item_id, d.reviewer, d.decision, d.picked) for d in decisions) == sorted(
        [(a.ids[2], f"argilla:{ANA}", "accept", True), (b.ids[0], f"argilla:{BOB}", "edit", True)]
        + [(candidate, f"argilla:{ANA}", "reject", False) for candidate in c.ids])
    edit = next(d for d in decisions if d.decision == "edit")
    after = {record.id: record.meta for record in gate_output(root)}
    assert [after[i]["chosen"] for i in a.ids] == [False, False, True]
    assert not set(c.ids) & set(after)
    rows = exported(root, "preferences")
    assert sorted((r["source"], r["chosen_id"], r["rejected_id"], r["reviewer"]) for r in rows) == sorted([
        ("expert_pick", a.ids[2], a.ids[0], f"argilla:{ANA}"), ("expert_pick", a.ids[2], a.ids[1], f"argilla:{ANA}"),
        ("expert_edit", edit.new_version_id, b.ids[0], f"argilla:{BOB}"),
        ("expert_pick", edit.new_version_id, b.ids[1], f"argilla:{BOB}"),
        ("expert_pick", edit.new_version_id, b.ids[2], f"argilla:{BOB}"),
    ])
