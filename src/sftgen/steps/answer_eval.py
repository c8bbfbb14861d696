"""Score each answer on the recipe's rubric (default: style, domain,
groundedness; 1-5 with a reason each). Scores go into the answer's meta `scores`; an answer whose mean
is below `answers.threshold` is dropped as `low_score`, or, with `below_threshold: review`, kept and
marked `needs_review: true` for the experts."""

from __future__ import annotations

import dataclasses
from typing import Any

from sftgen.answers.rubric import mean_score, rubric_schema, scores_of
from sftgen.records import Record
from sftgen.core.step import LLMFilterStep, Outcome, drop, keep
from sftgen.core.context import ItemContext, RunContext

TEMPLATE = "answer_eval.jinja"


class AnswerEvalStep(LLMFilterStep):
    """Score answers on the rubric; drop (or route to review) those below the threshold."""

    name = "answer_eval"
    consumes = "answer"
    produces = "answer"
    template = TEMPLATE
    temperature = 0.0

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        answers = ctx.recipe.answers
        return {
            "template": ctx.templates.fingerprint(TEMPLATE),
            "schema": self.rubric_schema(ctx).model_json_schema(),
            "model": ctx.llm_identity,
            "rubric": [dimension.model_dump() for dimension in answers.rubric],
            "threshold": answers.threshold,
            "below_threshold": answers.below_threshold,
        }

    @staticmethod
    def rubric_schema(ctx: RunContext | ItemContext):
        return rubric_schema(tuple(dimension.name for dimension in ctx.recipe.answers.rubric))

    def schema_for(self, item: Record, ctx: ItemContext):
        return self.rubric_schema(ctx)

    def label(self, item: Record) -> str:
        return item.text[:80]

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        if ctx.run.store.get(item.meta.get("prompt_id", "")) is None:
            return drop("missing_prompt",
                        f"answer {item.id}: its prompt {item.meta.get('prompt_id')} is not in the store")
        return None

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        store = ctx.run.store
        prompt = store.get(item.meta["prompt_id"])
        passages = [p for p in (store.get(pid) for pid in item.meta.get("passage_ids", [])) if p is not None]
        return {"domain": ctx.recipe.domain, "prompt": prompt.text, "answer": item.text,
                "passages": [{"text": p.text} for p in passages], "rubric": ctx.recipe.answers.rubric}

    def on_reply(self, item: Record, reply: Any, ctx: ItemContext) -> Outcome:
        answers = ctx.recipe.answers
        scores = scores_of(reply)
        mean = mean_score(scores)
        below = mean < answers.threshold
        if below and answers.below_threshold == "drop":
            detail = "; ".join(f"{name} {entry['score']}: {entry['why']}" for name, entry in scores.items())
            outcome = drop("low_score", f"mean {mean} < threshold {answers.threshold}: {detail}")
        else:
            outcome = keep()
        # Written into the answer's meta with the result, in the executor's batch (on the driver under Ray).
        return dataclasses.replace(outcome, meta_updates={
            "scores": scores, "score_mean": mean, "needs_review": below and answers.below_threshold == "review"})
