"""A judge whose scores never vary, or whose reasons repeat the rubric, is flagged; a judge that tells
answers apart is not, and a handful of answers is too few to judge the judge."""

from __future__ import annotations

from collections import Counter

from sftgen.answers.judge_health import judge_health
from sftgen.recipe.answer_settings import DEFAULT_RUBRIC


def scores(style, domain, grounded, why=("Clear.", "On topic.", "Cites [1].")):
    return {"style": {"score": style, "why": why[0]}, "domain": {"score": domain, "why": why[1]},
            "groundedness": {"score": grounded, "why": why[2]}}


RUBRIC_WORDS = tuple(d.description for d in DEFAULT_RUBRIC)


def test_the_same_scores_for_every_answer_flag_the_judge():
    health = judge_health([scores(5, 4, 5)] * 12, DEFAULT_RUBRIC)
    assert health.blind and health.distinct_scores == 1
    assert health.problems == ["the judge gave all 12 answers the same scores (domain 4 / groundedness 5 / "
                               "style 5): its scores say nothing about them"]


def test_reasons_copied_from_the_rubric_flag_the_judge_even_when_scores_vary():
    echoed = [scores(3 + i % 3, 4, 2 + i % 4, why=RUBRIC_WORDS) for i in range(12)]
    health = judge_health(echoed, DEFAULT_RUBRIC)
    assert health.blind and health.echo_share == 1.0
    assert "repeat the rubric's wording" in health.problems[0]


def test_a_judge_that_tells_answers_apart_is_trusted():
    varied = [scores(2 + i % 4, 3 + i % 3, 1 + i % 5, why=(f"Answer {i} wanders.", "Stays on the question.",
                                                       f"Claim {i} has no passage.")) for i in range(20)]
    health = judge_health(varied, DEFAULT_RUBRIC)
    assert not health.blind and health.distinct_scores > 1 and health.echo_share == 0.0


def test_too_few_answers_say_nothing_about_the_judge():
    assert not judge_health([scores(5, 5, 5)] * 9, DEFAULT_RUBRIC).blind
    assert judge_health([], DEFAULT_RUBRIC).answers == 0


def test_status_and_the_report_warn_about_a_judge_that_scores_every_answer_alike(tmp_path):
    import json

    from typer.testing import CliRunner

    from sftgen.cli import app
    from tests.support.answer_project import make_answer_project, run_with_judge, seed_prompts

    project = make_answer_project(tmp_path / "p")
    seed_prompts(project, [(f"How does quark property number {i} affect hadron masses?", "quarks")
                           for i in range(12)])
    run_with_judge(project, 5)

    runner = CliRunner()
    judge = json.loads(runner.invoke(app, ["status", str(project), "--json"]).output)["judge"]
    assert judge["blind"] and judge["answers"] == 12 and judge["distinct_scores"] == 1
    text = runner.invoke(app, ["status", str(project)], env={"COLUMNS": "200"}).output
    assert "warning: the judge gave all 12 answers the same scores" in text
    result = runner.invoke(app, ["report", str(project)])
    assert result.exit_code == 0, result.output
    assert "Judge not trusted: the judge gave all 12 answers the same scores" in \
        (project / "report" / "index.html").read_text()
    assert json.loads((project / "report" / "metrics.json").read_text())["review"]["judge"]["blind"] is True


def test_a_blind_judges_low_scores_drop_nothing_and_go_to_review(tmp_path):
    """Twelve answers all scored 2 of 5, below the threshold: the first pass drops them as low_score; once
    the judge is seen to be blind, they are handed back (answered from the cache, no new request) and kept
    with needs_review, so its scores do not decide what the SFT export holds."""
    from sftgen.store import open_store
    from tests.support.answer_project import make_answer_project, run_with_judge, seed_prompts

    project = make_answer_project(tmp_path / "p")
    seed_prompts(project, [(f"How does quark property number {i} affect hadron masses?", "quarks")
                           for i in range(12)])
    judged = run_with_judge(project, 2)
    assert len(judged) == 12  # each answer judged once: the second look came from the cache

    store = open_store(project)
    try:
        rows = [dict(row) for row in store.progress.rows("answer_eval")]
        answers = [r for r in store.records_of_kind("answer")]
    finally:
        store.close()
    assert len(rows) == 12 and all(row["outcome"] == "kept" for row in rows)
    assert all("kept for review: the judge is blind" in row["detail"] for row in rows)
    assert all(a.meta["needs_review"] and a.meta["score_mean"] == 2 for a in answers)


def test_a_judge_that_tells_answers_apart_still_drops_low_scores(tmp_path):
    from sftgen.store import open_store
    from tests.support.answer_project import make_answer_project, run_with_judge, seed_prompts

    project = make_answer_project(tmp_path / "p")
    seed_prompts(project, [(f"How does quark property number {i} affect hadron masses?", "quarks")
                           for i in range(12)])
    run_with_judge(project, lambda judged_before: 2 if judged_before % 2 else 5)
    store = open_store(project)
    try:
        outcomes = Counter((row["outcome"], row["reason"]) for row in store.progress.rows("answer_eval"))
    finally:
        store.close()
    assert outcomes == {("kept", None): 6, ("dropped", "low_score"): 6}
