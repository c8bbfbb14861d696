"""Review gates: the pipeline steps through which reviewers' decisions flow back.

`review_gate` sits right after the last prompt step (dedup); the answer half takes its prompts from it
and nowhere else. `answer_review_gate` sits after the last answer step; exports read answers from it
(pipeline.py puts both there).
For each item a gate passes on the latest accepted version (an edited record instead of the original),
drops rejected items with the reason `rejected_by_reviewer`, and passes unreviewed ones on, or, when
the recipe says `review.required_before_answer`, holds queued prompts back as `awaiting_review`.

A decision forgets the gate's progress row for its item, so the next run re-processes exactly that item:
the store withdraws what was made from the old version (its answer) and the answer step makes one for
the new version only.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from sftgen.records import Record, Status
from sftgen.decisions.log import ACCEPTED, EDITED, REJECTED, ItemState, ReviewLog
from sftgen.decisions.policy import in_queue
from sftgen.core.step import Outcome, Step, drop, replace
from sftgen.core.context import ItemContext, RunContext

REJECTED_BY_REVIEWER = "rejected_by_reviewer"
AWAITING_REVIEW = "awaiting_review"


class ReviewGate(Step):
    kind: ClassVar[str]
    replaces_input = True

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        review = ctx.recipe.review
        return review.model_dump(
            include={"policy", "sample_rate", "uncertain_band", "kinds", "reviews_required", "required_before_answer"}
        )

    def label(self, item: Record) -> str:
        return item.text[:80]

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        # The verdict on the input record is committed with the gate's result: a rejected item is marked
        # dropped like a filter drops one (quotas and `sftgen status` count it so); a reviewer who changes
        # their mind makes it kept again.
        review = ctx.recipe.review
        state = ReviewLog(ctx.run.store).state(item.id, review.reviews_required)
        if state.status == REJECTED:
            reasons = sorted({d.reason for d in state.decisions if d.decision == "reject" and d.reason})
            return Outcome(Status.DROPPED, reason=REJECTED_BY_REVIEWER, detail="; ".join(reasons) or None,
                           input_status=Status.DROPPED)
        return dataclasses.replace(self.pass_on(item, state, ctx), input_status=Status.KEPT)

    def pass_on(self, item: Record, state: ItemState, ctx: ItemContext) -> Outcome:
        review = ctx.recipe.review
        if state.status in (ACCEPTED, EDITED):
            version = ctx.run.store.get(state.version_id)
            if version is None:
                return drop("review_version_missing", f"{state.version_id} is not in the store")
            return replace(version)
        if self.holds_unreviewed(ctx) and item.kind in review.kinds and in_queue(item, review):
            return drop(AWAITING_REVIEW, f"{state.status}: waiting for a reviewer's decision")
        return replace(item)

    def holds_unreviewed(self, ctx: ItemContext) -> bool:
        return False


class PromptReviewGate(ReviewGate):
    """Pass on reviewed prompts (edited versions instead of originals); drop rejected ones."""

    name = "review_gate"
    consumes = produces = kind = gates = "prompt"

    def holds_unreviewed(self, ctx: ItemContext) -> bool:
        return ctx.recipe.review.required_before_answer


class AnswerReviewGate(ReviewGate):
    """Pass on reviewed answers (edited versions instead of originals); drop rejected ones."""

    name = "answer_review_gate"
    consumes = produces = kind = gates = "answer"
