"""Answer step 3 (LLM part): score each answer on the recipe's rubric (default: style, domain,
groundedness; 1-5 with a reason each). Scores go into the answer's meta `scores`; an answer whose mean
is below `answers.threshold` is dropped as `low_score`, or, with `below_threshold: review`, kept and
marked `needs_review: true` for the experts."""

from __future__ import annotations

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

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        answers = ctx.recipe.answers
        return {
            "template": ctx.templates.fingerprint(TEMPLATE),
            "schema": self.schema(ctx).model_json_schema(),
            "model": ctx.llm_identity,
            "rubric": [dimension.model_dump() for dimension in answers.rubric],
            "threshold": answers.threshold,
            "below_threshold": answers.below_threshold,
        }

    @staticmethod
    def schema(ctx: RunContext | ItemContext):
        return rubric_schema(tuple(dimension.name for dimension in ctx.recipe.answers.rubric))

    def label(self, item: Record) -> str:
        return item.text[:80]

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        store, answers = ctx.run.store, ctx.recipe.answers
        prompt = store.get(item.meta.get("prompt_id", ""))
        if prompt is None:
            return drop("missing_prompt",
                        f"answer {item.id}: its prompt {item.meta.get('prompt_id')} is not in the store")
        passages = [p for p in (store.get(pid) for pid in item.meta.get("passage_ids", [])) if p is not None]
        variables = {"domain": ctx.recipe.domain, "prompt": prompt.text, "answer": item.text,
                     "passages": [{"text": p.text} for p in passages], "rubric": answers.rubric}
        reply = await ctx.ask(TEMPLATE, variables, self.schema(ctx), temperature=0.0)
        scores = scores_of(reply)
        mean = mean_score(scores)
        below = mean < answers.threshold
        store.set_meta(item.id, {"scores": scores, "score_mean": mean,
                                 "needs_review": below and answers.below_threshold == "review"})
        if below and answers.below_threshold == "drop":
            detail = "; ".join(f"{name} {entry['score']}: {entry['why']}" for name, entry in scores.items())
            return drop("low_score", f"mean {mean} < threshold {answers.threshold}: {detail}")
        return keep()
