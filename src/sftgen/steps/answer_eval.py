"""Score each answer on the recipe's rubric (default: style, domain,
groundedness; 1-5 with a reason each). Scores go into the answer's meta `scores`; an answer whose mean
is below `answers.threshold` is dropped as `low_score`, or, with `below_threshold: review`, kept and
marked `needs_review: true` for the experts.

A blind judge (answers/judge_health.py: the same scores for every answer, or reasons that repeat the
rubric) does not gate: at each pass the step looks at the scores it gave so far, and while the judge is
blind, answers below the threshold are kept with `needs_review: true` and those it dropped as `low_score`
are handed back (their replies come from the cache) to be kept the same way."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sftgen.answers.judge_health import JudgeHealth, judge_health
from sftgen.answers.rubric import mean_score, rubric_schema, scores_of
from sftgen.records import Record, Status
from sftgen.core.step import LLMFilterStep, Outcome, drop, keep
from sftgen.core.context import ItemContext, RunContext
from sftgen.core.page_memo import RecordTexts

TEMPLATE = "answer_eval.jinja"
LOW_SCORE = "low_score"
log = logging.getLogger("sftgen.answer_eval")


@dataclasses.dataclass
class JudgeStanding:
    """The judge's health in this pass, from every score it had given when the pass first asked (before it
    scored anything in the pass: scores are committed after their replies)."""

    health: JudgeHealth


def judge_standing(ctx: RunContext) -> JudgeStanding:
    """Made on first use in a pass: a pass with nothing to judge and nothing to reopen reads no scores."""
    return ctx.services.state(JudgeStanding, lambda: JudgeStanding(
        judge_health(ctx.store.records.meta_objects("answer", "scores"), ctx.recipe.answers.rubric)))


class AnswerEvalStep(LLMFilterStep):
    """Score answers on the rubric; drop (or route to review) those below the threshold."""

    name = "answer_eval"
    consumes = "answer"
    produces = "answer"
    template = TEMPLATE
    reason_first_template = "answer_eval_reason_first.jinja"
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
            **self.reason_first_settings(ctx),
        }

    @staticmethod
    def rubric_schema(ctx: RunContext | ItemContext, reason_first: bool = False):
        return rubric_schema(tuple(dimension.name for dimension in ctx.recipe.answers.rubric), reason_first)

    def reason_first_schema_for(self, ctx: RunContext | ItemContext):
        return self.rubric_schema(ctx, reason_first=True)

    def schema_for(self, item: Record, ctx: ItemContext):
        return self.reason_first_schema_for(ctx) if self.reasons_first(ctx) else self.rubric_schema(ctx)

    def reopen_inputs(self, ctx: RunContext) -> None:
        ctx.services.forget(JudgeStanding)
        settings = self.settings_hash(ctx)
        dropped = ctx.store.items_done_as(self.name, Status.DROPPED, LOW_SCORE, settings)
        if not dropped:
            return
        health = judge_standing(ctx).health
        if health.blind:
            ctx.store.forget_progress(self.name, dropped)
            log.warning("answer_eval: %d answers dropped as %s are kept for review instead: %s", len(dropped),
                        LOW_SCORE, "; ".join(health.problems))

    def label(self, item: Record) -> str:
        return item.text[:80]

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        prompt, _ = self.parents(item, ctx)
        if prompt is None:
            return drop("missing_prompt",
                        f"answer {item.id}: its prompt {item.meta.get('prompt_id')} is not in the store")
        return None

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        prompt, passages = self.parents(item, ctx)
        return {"domain": ctx.recipe.domain, "prompt": prompt, "answer": item.text,
                "passages": [{"text": text} for text in passages], "rubric": ctx.recipe.answers.rubric}

    @staticmethod
    def parents(item: Record, ctx: ItemContext) -> tuple[str | None, list[str]]:
        """The texts of the answer's prompt and of its passages (those the store has, in the answer's order),
        read in one query (texts only: the judge is shown no meta) the first time `precheck` or `variables`
        asks, and kept for the other in `ctx.found`."""
        held = ctx.found.get("parents")
        if held is None:
            prompt_id, passage_ids = item.meta.get("prompt_id", ""), item.meta.get("passage_ids", [])
            found = parent_texts(ctx.run).texts_of(ctx.run, [prompt_id, *passage_ids])
            held = ctx.found["parents"] = (found.get(prompt_id), [found[pid] for pid in passage_ids if pid in found])
        return held

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """The texts of a page of answers' prompts and passages, read in one query."""
        parent_texts(ctx).read(ctx, [pid for item in items
                                     for pid in (item.meta.get("prompt_id", ""), *item.meta.get("passage_ids", []))])

    def on_reply(self, item: Record, reply: Any, ctx: ItemContext) -> Outcome:
        answers = ctx.recipe.answers
        scores = scores_of(reply)
        mean = mean_score(scores)
        below = mean < answers.threshold
        standing = judge_standing(ctx.run)
        blind = standing.health.blind
        if below and answers.below_threshold == "drop" and not blind:
            detail = "; ".join(f"{name} {entry['score']}: {entry['why']}" for name, entry in scores.items())
            outcome = drop(LOW_SCORE, f"mean {mean} < threshold {answers.threshold}: {detail}")
        else:
            outcome = keep()
            if below and blind:
                outcome.detail = (f"mean {mean} < threshold {answers.threshold}, kept for review: the judge is "
                                  f"blind ({'; '.join(standing.health.problems)})")
        # Written into the answer's meta with the result, in the executor's batch (on the driver under Ray).
        return dataclasses.replace(outcome, meta_updates={
            "scores": scores, "score_mean": mean,
            "needs_review": below and (answers.below_threshold == "review" or blind)})


class ParentTexts(RecordTexts):
    """The texts of the prompts and passages of answer_eval's pending answers (texts only: the judge is shown
    no meta)."""

    def read(self, run: RunContext, ids: list[str]) -> None:
        wanted = [record_id for record_id in dict.fromkeys(ids) if record_id]
        self.hold(run.store.records.texts(wanted) if wanted else {})

    def texts_of(self, run: RunContext, ids: list[str]) -> dict[str, str]:
        """id -> text of those of `ids` the store has: from the page read when it holds them all, else in
        one query (an id the page did not find is looked for again)."""
        if all(record_id in self for record_id in ids):
            return {record_id: self.get(record_id) for record_id in ids}  # type: ignore[misc]
        return run.store.records.texts(ids)


def parent_texts(run: RunContext) -> ParentTexts:
    return run.services.state(ParentTexts, ParentTexts)
