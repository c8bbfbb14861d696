"""The report's section on candidates and preference pairs, on a small reviewed set: six prompts with three
candidates each (the judge picks candidate 1 everywhere); a reviewer agrees on four prompts and picks
another candidate on two, so `sftgen report` prints an agreement of 4 of 6 (0.67), the candidates' score
spread, and the preference pairs by source; metrics.json and the page say the same."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.decisions.log import Decision, ReviewLog
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.candidate_project import JudgeByText, make_candidate_project, run_steps

PROMPTS = [
    ("How many quark flavours are there?", "quarks"),
    ("Why do gluons interact with each other?", "gluons"),
    ("What is a baryon made of?", "quarks"),
    ("Why can a free quark never be observed?", "gluons"),
    ("What holds the protons of a nucleus together?", "gluons"),
    ("What is the electric charge of the up quark?", "quarks"),
]
PICKS = [1, 1, 1, 1, 2, 0]
"""The reviewer's pick per prompt (0-based candidate index); the judge picked 1 everywhere."""


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_candidates") / "p"
    with running_fake_server() as llm:
        sets = make_candidate_project(root, PROMPTS, llm, JudgeByText(default=3), policy="all")
        project = Project.open(root)
        store = project.store()
        try:
            log = ReviewLog(store, standard_pipeline(project.recipe))
            for candidates, pick in zip(sets, PICKS):
                picked = candidates.ids[pick]
                log.record(Decision(picked, "answer", picked, "ana", "accept", picked=True),
                           recheck=[other for other in candidates.ids if other != picked])
        finally:
            store.close()
        run_steps(root, llm, "answer_eval", "answer_review_gate")
    return root


def test_report_prints_the_judge_vs_expert_pick_agreement(reviewed):
    result = CliRunner().invoke(app, ["report", str(reviewed), "--sample", "10"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "candidates: the judge's pick matches the experts' pick on 4 of 6 prompts (0.67)" in lines
    # the judge scored the candidates 3, 5 and 4: a spread of 2 on every prompt
    assert "candidates: score spread between a prompt's candidates, mean 2, max 2 over 6 prompts" in lines
    # each pick is preferred over the prompt's two other candidates
    assert "preference pairs: expert_edit 0, expert_pick 12, expert_reject 0, judge 0" in lines

    metrics = json.loads((reviewed / "report" / "metrics.json").read_text())
    assert metrics["candidates"] == {
        "prompts_with_candidates": 6,
        "judge_vs_expert_pick": {"prompts": 6, "agree": 4, "share": 0.67},
        "score_spread": {"prompts": 6, "mean": 2.0, "median": 2.0, "max": 2.0},
        "preference_pairs": {"expert_edit": 0, "expert_pick": 12, "expert_reject": 0, "judge": 0},
    }
    page = " ".join((reviewed / "report" / "index.html").read_text().split())
    assert "The judge's pick matches the experts' pick on 4 of 6 prompts a reviewer picked from (66.7%)" in page
