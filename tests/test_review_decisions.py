"""Decisions, their resolution with one or two reviewers, the queue policy, and the agreement and
calibration figures (checked against values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Record
from sftgen.recipe.review_settings import Review
from sftgen.review.agreement import calibration, cohen_kappa, pearson, reviewer_agreement, spearman
from sftgen.decisions.log import Decision, DecisionError, ReviewLog, resolve
from sftgen.decisions.policy import in_queue
from sftgen.review.queue import ReviewQueue
from tests.support.review_project import make_review_project, seed_answer, seed_prompts


@pytest.fixture
def project(tmp_path):
    return make_review_project(tmp_path / "p")


def opened(project_dir):
    project = Project.open(project_dir)
    store = project.store()
    pipeline = standard_pipeline(project.recipe)
    return store, ReviewLog(store, pipeline), ReviewQueue(store, pipeline, project.recipe)


def test_an_edit_is_a_new_version_and_the_original_stays(project):
    prompt = seed_prompts(project)[0]
    store, log, _ = opened(project)
    try:
        first = log.record(Decision(prompt.id, "prompt", prompt.id, "ana", "edit", edited_text="Shorter prompt?"))
        second = log.record(Decision(prompt.id, "prompt", first.new_version_id, "bob", "edit",
                                     edited_text="Shorter prompt, again?"))
        v2, v3 = store.get(first.new_version_id), store.get(second.new_version_id)
        assert store.get(prompt.id).text == prompt.text
        assert (v2.parent_ids, v2.meta["edited_from"], v2.meta["version"]) == ([prompt.id], prompt.id, 2)
        assert (v3.parent_ids, v3.meta["version"], v3.meta["original_id"]) == ([v2.id], 3, prompt.id)
        assert v3.meta["subdomain"] == prompt.meta["subdomain"]
        state = log.state(prompt.id, reviews_required=1)
        assert (state.status, state.version_id) == ("edited", v3.id)
        rows = store.conn.execute("SELECT reviewer, decision, version_id FROM reviews ORDER BY seq").fetchall()
        assert [tuple(row) for row in rows] == [("ana", "edit", prompt.id), ("bob", "edit", v2.id)]
    finally:
        store.close()


def test_bad_decisions_are_refused_with_the_item_named(project):
    prompt = seed_prompts(project)[0]
    store, log, _ = opened(project)
    try:
        with pytest.raises(DecisionError, match=f"prompt {prompt.id}: a rejection needs a reason"):
            log.record(Decision(prompt.id, "prompt", prompt.id, "ana", "reject"))
        with pytest.raises(DecisionError, match="no such record"):
            log.record(Decision("pro_missing", "prompt", "pro_missing", "ana", "accept"))
        other = seed_prompts(project)[1]
        with pytest.raises(DecisionError, match=f"{other.id} is not a version of this item"):
            log.record(Decision(prompt.id, "prompt", other.id, "ana", "accept"))
        with pytest.raises(DecisionError, match="expected an integer 1-5"):
            log.record(Decision(prompt.id, "prompt", prompt.id, "ana", "accept", scores={"style": 9}))
        assert log.decisions() == []
    finally:
        store.close()


def d(reviewer, decision, seq, item="x", new=None):
    return Decision(item, "prompt", item, reviewer, decision, seq=seq, new_version_id=new)


def test_two_required_reviews_settle_only_when_the_last_two_agree():
    assert resolve("x", [d("ana", "accept", 1)], 2).status == "pending"
    assert resolve("x", [d("ana", "accept", 1), d("bob", "reject", 2)], 2).status == "disputed"
    settled = resolve("x", [d("ana", "accept", 1), d("bob", "reject", 2), d("cy", "reject", 3)], 2)
    assert settled.status == "rejected"
    edited = resolve("x", [d("ana", "edit", 1, new="v2"), d("bob", "accept", 2)], 2)
    assert (edited.status, edited.version_id) == ("accepted", "x")  # bob accepted the version he saw
    changed_mind = resolve("x", [d("ana", "reject", 1), d("ana", "accept", 2)], 1)
    assert changed_mind.status == "accepted"


def test_policy_sample_is_stable_and_uncertain_uses_the_llm_band():
    records = [Record(kind="prompt", text=f"prompt {i}") for i in range(2000)]
    sample = Review(policy="sample", sample_rate=0.25)
    chosen = [r.id for r in records if in_queue(r, sample)]
    assert chosen == [r.id for r in records if in_queue(r, sample)]
    assert 400 < len(chosen) < 600
    uncertain = Review(policy="uncertain", uncertain_band=(2.5, 3.5))

    def answer(scores, **meta):
        return Record(kind="answer", text="a", meta={"scores": {k: {"score": v} for k, v in scores.items()}, **meta})

    assert in_queue(answer({"style": 3, "domain": 3}), uncertain)
    assert not in_queue(answer({"style": 5, "domain": 4}), uncertain)
    assert not in_queue(answer({"style": 1, "domain": 2}), uncertain)
    assert in_queue(answer({"style": 5, "domain": 5}, needs_review=True), uncertain)
    assert in_queue(Record(kind="prompt", text="never scored"), uncertain)
    assert not in_queue(Record(kind="prompt", text="p"), Review(kinds=["answer"]))


def test_kappa_and_correlations_match_hand_worked_values():
    # 10 items: both accept 4, both reject 3, ana accepts / bob rejects 2, ana rejects / bob accepts 1.
    ana = ["a"] * 4 + ["r"] * 3 + ["a"] * 2 + ["r"]
    bob = ["a"] * 4 + ["r"] * 3 + ["r"] * 2 + ["a"]
    # observed 0.7; expected 0.6*0.5 + 0.4*0.5 = 0.5; kappa = 0.2 / 0.5
    assert cohen_kappa(ana, bob) == pytest.approx(0.4)
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert spearman([1, 2, 2, 3], [1, 3, 3, 4]) == pytest.approx(1.0)  # ties share their rank
    assert spearman(x, y) == pytest.approx(1 - 6 * (1 + 1 + 1 + 1) / (5 * 24))
    assert pearson([1, 1, 1], [1, 2, 3]) is None


def test_agreement_and_calibration_from_stored_decisions(project):
    prompts = seed_prompts(project)
    answers = [seed_answer(project, prompts[i], f"answer {i}", {"style": s, "domain": 3})
               for i, s in enumerate([2, 4, 5])]
    store, log, queue = opened(project)
    try:
        for answer, (ana, bob) in zip(answers, [(1, 2), (4, 4), (5, 4)]):
            log.record(Decision(answer.id, "answer", answer.id, "ana", "accept", scores={"style": ana}))
            log.record(Decision(answer.id, "answer", answer.id, "bob", "accept", scores={"style": bob}))
        log.record(Decision(answers[0].id, "answer", answers[0].id, "bob", "reject", reason="incorrect",
                            scores={"style": 2}))  # bob changes his mind: his latest decision counts
        pair = reviewer_agreement(log.decisions(kind="answer"))[0]
        assert pair["reviewers"] == ["ana", "bob"] and pair["items"] == 3 and pair["agree"] == 2
        assert pair["scores"]["style"]["pearson"] == pytest.approx(np.corrcoef([1, 4, 5], [2, 4, 4])[0, 1])
        rows = {row["dimension"]: row for row in
                calibration(log.decisions(kind="answer"), {a.id: a for a in answers}, ["style", "domain"])}
        experts = [1.5, 4, 4.5]
        assert rows["style"]["n"] == 3
        assert rows["style"]["pearson"] == pytest.approx(np.corrcoef([2, 4, 5], experts)[0, 1])
        assert rows["style"]["mean_abs_diff"] == pytest.approx(round((0.5 + 0 + 0.5) / 3, 3))
        assert rows["domain"]["n"] == 0 and rows["domain"]["pearson"] is None
        assert queue.counts()["answer"] == {"accepted": 2, "rejected": 1, "edited": 0, "pending": 0,
                                            "disputed": 0, "queue": 3, "decisions": 7,
                                            "waiting_for_run": 3, "set_aside": 0}
    finally:
        store.close()
