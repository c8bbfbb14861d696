"""The review gates read the decisions (and, on the answer gate, the candidates' picks) of a page of inputs
in one query (`prepare_inputs`): each item's outcome is the one the gate gives when it reads the item alone,
for random decisions (rejections, edits, accepts, picks, by one to three reviewers, one or two reviews
required), and an item nobody decided on costs no query of the reviews."""

from __future__ import annotations

import asyncio
import random

import pytest
import yaml

from sftgen.decisions.log import Decision, ReviewLog
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Record
from sftgen.run.open import open_run
from sftgen.steps.review_gate import AnswerReviewGate, PromptReviewGate
from tests.support.review_project import emit, make_review_project

REVIEWERS = ("ana", "ben", "cai")


def random_decision(rng: random.Random, item: Record, reviewer: str, picked_ok: bool) -> Decision:
    choice = rng.choice(("accept", "reject", "edit"))
    return Decision(item_id=item.id, kind=item.kind, version_id=item.id, reviewer=reviewer, decision=choice,
                    reason="incorrect" if choice == "reject" else None,
                    edited_text=f"{item.text} (edited by {reviewer})" if choice == "edit" else None,
                    picked=picked_ok and choice != "reject" and rng.random() < 0.5)


def decide_at_random(log: ReviewLog, rng: random.Random, items: list[Record], picks: bool) -> None:
    for item in items:
        for _ in range(rng.choice((0, 0, 1, 2, 3))):  # most items: no decision
            log.record(random_decision(rng, item, rng.choice(REVIEWERS), picks))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Prompts and, for some of them, three candidate answers each, with random decisions about them."""
    rng = random.Random(17)
    root = make_review_project(tmp_path_factory.mktemp("gate-page") / "p", {"policy": "all"}, candidates=3)
    prompts = [Record(kind="prompt", text=f"What does quark question {n} ask about colour charge?",
                      meta={"subdomain": "quarks"}, origin="seed", step="generate") for n in range(60)]
    emit(root, "dedup", prompts)
    answers = [Record(kind="answer", text=f"Candidate {c} for prompt {n}.", parent_ids=[prompt.id], step="answer",
                      meta={"prompt_id": prompt.id, "candidate_index": c} | ({"chosen": c == 0, "chosen_by": "judge",
                                                                               "judge_chosen": c == 0} if n % 2 else {}))
               for n, prompt in enumerate(prompts[:30]) for c in range(3)]
    answers += [Record(kind="answer", text=f"The only answer to prompt {n}.", parent_ids=[prompt.id], step="answer",
                       meta={"prompt_id": prompt.id}) for n, prompt in enumerate(prompts[30:], 30)]
    emit(root, "answer_eval", answers)
    project = Project.open(root)
    pipeline = standard_pipeline(project.recipe)
    store = project.store(graph=pipeline.upstream_map())
    try:
        log = ReviewLog(store, pipeline)
        decide_at_random(log, rng, prompts, picks=False)
        decide_at_random(log, rng, answers, picks=True)
    finally:
        store.close()
    return {"root": root, "prompts": prompts, "answers": answers}


def with_reviews_required(root, reviews_required: int) -> Project:
    recipe_path = root / "recipe.yaml"
    recipe = yaml.safe_load(recipe_path.read_text())
    recipe["review"]["reviews_required"] = reviews_required
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return Project.open(root)


def outcomes(project: Project, gate, items: list[Record], page_size: int | None, queries: list[str] | None = None):
    """The gate's outcome for each item, with its pages (of `page_size`) prepared first, or none (None)."""

    async def go():
        pipeline = standard_pipeline(project.recipe)
        store = project.store(graph=pipeline.upstream_map())
        try:
            async with open_run(project, pipeline, store) as ctx:
                results = []
                for start in range(0, len(items), page_size or len(items)):
                    page = items[start:start + (page_size or len(items))]
                    if page_size is not None:
                        gate.prepare_inputs(page, ctx)
                    if queries is not None:
                        store.conn.set_trace_callback(queries.append)
                    results += [await gate.process(item, ctx.item(gate.name)) for item in page]
                    store.conn.set_trace_callback(None)
                return results
        finally:
            store.close()

    return asyncio.run(go())


@pytest.mark.parametrize("reviews_required", [1, 2])
@pytest.mark.parametrize("gate, kind", [(PromptReviewGate(["dedup"]), "prompts"),
                                        (AnswerReviewGate(["answer_eval"]), "answers")])
def test_a_page_read_gives_each_item_the_outcome_of_a_read_alone(project, gate, kind, reviews_required):
    reviewed = with_reviews_required(project["root"], reviews_required)
    items = project[kind]
    alone = outcomes(reviewed, gate, items, page_size=None)
    assert outcomes(reviewed, gate, items, page_size=16) == alone
    assert {outcome.status for outcome in alone} == {"kept", "dropped"}
    if kind == "answers":
        assert any(outcome.outputs and outcome.outputs[0].meta.get("chosen_by") == "expert" for outcome in alone)


def test_an_item_nobody_decided_on_costs_no_query_of_the_reviews(project):
    reviewed = Project.open(project["root"])
    store = reviewed.store()
    try:
        decided = {decision.item_id for decision in ReviewLog(store).decisions()}
    finally:
        store.close()
    undecided = [item for item in project["prompts"] + project["answers"]
                 if item.id not in decided and "candidate_index" not in item.meta]
    assert len(undecided) >= 10
    for gate in (PromptReviewGate(["dedup"]), AnswerReviewGate(["answer_eval"])):
        queries: list[str] = []
        mine = [item for item in undecided if item.kind == gate.kind]
        outcomes(reviewed, gate, mine, page_size=256, queries=queries)
        assert not [query for query in queries if "reviews" in query]
