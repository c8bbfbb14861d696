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

With candidates (answers.candidates >= 2, `meta.candidate_index`), a reviewer's pick of one of a prompt's
candidates (a decision with `picked`) makes the answer gate pass the picked one on as `chosen: true,
chosen_by: "expert"` and the prompt's other candidates as `chosen: false`; `judge_chosen` stays as the
judge left it. A pick that no longer holds (the picked candidate rejected later) gives the judge's choice back.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from sftgen.records import Record, Status
from sftgen.decisions.log import ACCEPTED, EDITED, REJECTED, Decision, ItemState, ReviewLog, resolve
from sftgen.decisions.policy import in_queue
from sftgen.core.page_memo import PageMemo
from sftgen.core.step import Outcome, Step, drop, replace
from sftgen.core.context import ItemContext, RunContext

REJECTED_BY_REVIEWER = "rejected_by_reviewer"
AWAITING_REVIEW = "awaiting_review"
EXPERT = "expert"
CHOOSERS = ("answer_select",)
"""Steps that choose among a prompt's candidates (`chosen` in each one's meta). One that redoes its items
rewrites `chosen` on the same records, which would undo reviewers' picks: the answer gate's settings include
its settings, so the gate then redoes its items too and applies the picks again (no LLM request)."""


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

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """The decisions about a page of inputs, read in one query (most items have none)."""
        page_decisions(ctx).read(ReviewLog(ctx.store), [item.id for item in items])

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        # The verdict on the input record is committed with the gate's result: a rejected item is marked
        # dropped like a filter drops one (quotas and `sftgen status` count it so); a reviewer who changes
        # their mind makes it kept again.
        review = ctx.recipe.review
        decisions = page_decisions(ctx.run).of(ReviewLog(ctx.run.store), item.id)
        state = resolve(item.id, decisions, review.reviews_required)
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
    """Pass on reviewed answers (edited versions instead of originals); drop rejected ones; apply reviewers'
    picks among a prompt's candidates."""

    name = "answer_review_gate"
    consumes = produces = kind = gates = "answer"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        settings = super().settings(ctx)
        for name in self.upstream:  # only with candidates (answers.candidates >= 2): else nothing changes
            if name in CHOOSERS and ctx.pipeline.has(name):
                settings[f"{name}_settings"] = ctx.pipeline.step(name).settings_hash(ctx)
        return settings

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """And the picks among the candidates of the page's prompts, in one more query."""
        super().prepare_inputs(items, ctx)
        prompt_ids = [item.meta.get("prompt_id") for item in items if item.meta.get("candidate_index") is not None]
        page_picks(ctx).read(ReviewLog(ctx.store), [prompt_id for prompt_id in prompt_ids if prompt_id])

    def pass_on(self, item: Record, state: ItemState, ctx: ItemContext) -> Outcome:
        outcome = super().pass_on(item, state, ctx)
        if item.meta.get("candidate_index") is None or outcome.status != Status.KEPT or not outcome.outputs:
            return outcome
        log = ReviewLog(ctx.run.store)
        prompt_id = item.meta.get("prompt_id")
        picks = page_picks(ctx.run).of(log, prompt_id) if prompt_id else []
        pick = pick_among_candidates(log, picks, ctx.recipe.review.reviews_required)
        return dataclasses.replace(outcome, outputs=[with_choice(outcome.outputs[0], item, pick)])


def pick_among_candidates(log: ReviewLog, picks: list[Decision], reviews_required: int) -> Decision | None:
    """The reviewers' pick in force among the candidates of a prompt, given the picks made among them
    (None: nobody picked one)."""
    picked_here = {decision.item_id for decision in picks}
    return log.pick_in_force(picked_here, reviews_required) if picked_here else None


class HeldDecisions(PageMemo[str, list[Decision]]):
    """Decisions grouped by a key (an item id, a prompt id) for a page of a gate's inputs, read in one query
    (`read_page`); a key not held is read alone (`read_one`)."""

    def read_page(self, log: ReviewLog, keys: list[str]) -> dict[str, list[Decision]]:
        raise NotImplementedError

    def read_one(self, log: ReviewLog, key: str) -> list[Decision]:
        raise NotImplementedError

    def read(self, log: ReviewLog, keys: list[str]) -> None:
        self.hold(self.read_page(log, keys))

    def of(self, log: ReviewLog, key: str) -> list[Decision]:
        held = self.get(key)
        return held if held is not None else self.read_one(log, key)


class PageDecisions(HeldDecisions):
    """The decisions about a page of a gate's inputs, by item id."""

    def read_page(self, log: ReviewLog, item_ids: list[str]) -> dict[str, list[Decision]]:
        return log.of_items(item_ids)

    def read_one(self, log: ReviewLog, item_id: str) -> list[Decision]:
        return log.decisions([item_id])


class PagePicks(HeldDecisions):
    """The picks among the candidates of a page's prompts, by prompt id."""

    def read_page(self, log: ReviewLog, prompt_ids: list[str]) -> dict[str, list[Decision]]:
        return log.picks_of_prompts(prompt_ids)

    def read_one(self, log: ReviewLog, prompt_id: str) -> list[Decision]:
        return log.picks(prompt_id=prompt_id)


def page_decisions(run: RunContext) -> PageDecisions:
    return run.services.state(PageDecisions, PageDecisions)


def page_picks(run: RunContext) -> PagePicks:
    return run.services.state(PagePicks, PagePicks)


def with_choice(version: Record, item: Record, pick: Decision | None) -> Record:
    """The version passed on, with the prompt's choice as the reviewers' pick (or the judge's) says."""
    meta = dict(version.meta)
    if pick is not None:
        chosen = pick.item_id == item.id
        meta.update(chosen=chosen, chosen_by=EXPERT,
                    chosen_reason=f"picked by reviewer {pick.reviewer}" if chosen
                    else f"reviewer {pick.reviewer} picked another candidate")
        if chosen:
            meta["picked_by"] = pick.reviewer
        else:
            meta.pop("picked_by", None)
    elif meta.get("chosen_by") == EXPERT:  # the pick was withdrawn: the judge's choice holds again
        meta.pop("picked_by", None)
        meta.update(chosen=bool(meta.get("judge_chosen")), chosen_by="judge",
                    chosen_reason="the judge's pick (a reviewer's pick was withdrawn)")
    else:
        return version
    return dataclasses.replace(version, meta=meta)
