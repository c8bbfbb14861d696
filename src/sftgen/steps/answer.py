"""The LLM answers each prompt from its retrieved passages, fenced as data, and cites
them as [1], [2]. Citations are mapped to the passages' URLs; a number that matches no retrieved
passage is removed from the text and listed in `invalid_citations`. With `answers.rag: false` the model
answers alone and the answer is marked `rag: false`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from sftgen.answers.answer_text import answer_problem
from sftgen.answers.candidates import CandidatePlan, candidate_plans, candidate_settings
from sftgen.answers.citations import check_citations, citation_entries
from sftgen.answers.upstream import HeldPassage, ranked_passages, ranked_passages_many, require_processed_id
from sftgen.records import Record, Status
from sftgen.core.step import LLMStep, Outcome, drop, keep
from sftgen.failures import RunStopped
from sftgen.core.context import ItemContext, RunContext
from sftgen.core.page_memo import PageMemo
from sftgen.steps.answer_retrieve import AnswerRetrieveStep

PLACEHOLDER = re.compile(r"<[^<>]{0,80}>")
"""A reply like "<the answer>": small models copy a template's placeholder instead of answering."""
GROUNDED_TEMPLATE = "answer.jinja"
CLOSED_BOOK_TEMPLATE = "answer_closed_book.jinja"
SINGLE = CandidatePlan(index=0, count=1, temperature=None, seed=None, style=None)
SELECTION_KEYS = ("chosen", "chosen_by", "chosen_reason", "judge_chosen", "pairwise")
"""What answer_select wrote into an answer's meta (steps/answer_select.py)."""


class WrittenAnswer(BaseModel):
    answer: str = Field(min_length=1, description="The answer, with [n] citations when passages were given.")


class AnswerStep(LLMStep):
    """Answer each prompt from its passages (or from the model alone with RAG off)."""

    name = "answer"
    consumes = "prompt"
    produces = "answer"
    template = GROUNDED_TEMPLATE
    output_schema = WrittenAnswer

    def __init__(self, upstream: list[str] | None = None):
        super().__init__(upstream)
        self.held_passages: dict[str, list[HeldPassage] | None] = {}
        """The passages of the prompts being answered now, read once per prompt (its precheck, its
        variables and each candidate's checks need them), dropped when it is done."""

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        answers = ctx.recipe.answers
        template = GROUNDED_TEMPLATE if answers.rag else CLOSED_BOOK_TEMPLATE
        settings = {"template": ctx.templates.fingerprint(template), "schema": WrittenAnswer.model_json_schema(),
                    "model": ctx.llm_identity, "rag": answers.rag}
        if answers.rag:  # new passages (other retrieval settings) mean new answers
            settings["retrieval"] = answers.model_dump(
                include={"queries_per_prompt", "pages_per_query", "passages_per_answer", "passage_size",
                         "passage_overlap"})
        settings.update(candidate_settings(answers))
        if answers.styles:
            settings["styled_template"] = ctx.templates.fingerprint(template.replace(".jinja", "_styled.jinja"))
        return settings

    def template_for(self, item: Record, ctx: ItemContext) -> str:
        return GROUNDED_TEMPLATE if ctx.recipe.answers.rag else CLOSED_BOOK_TEMPLATE

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        if not ctx.recipe.answers.rag:
            return None
        held = prompt_retrievals(ctx.run).get(item.id)
        outcome, reason = require_processed_id(ctx.run.store, self.retrieve_step(ctx), item.kind, item.id,
                                               held.outcome if held is not None else None)
        if outcome == Status.DROPPED:
            return drop(reason or "no_passages", "retrieval found no passages for this prompt")
        if not self.passages(item, ctx):
            return drop("no_passages", "retrieval kept no passages for this prompt")
        return None

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """Retrieval's outcome on a page of prompts and their passages, read in two queries."""
        if ctx.recipe.answers.rag:
            prompt_retrievals(ctx).read(ctx, self.retrieve_step(ctx), [item.id for item in items])

    def reopen_inputs(self, ctx: RunContext) -> None:
        ctx.services.forget(PromptRetrievals)  # retrieval may have run again since the last pass read a page

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        variables = {"domain": ctx.recipe.domain, "prompt": item.text}
        if ctx.recipe.answers.rag:
            variables["passages"] = [{"title": passage_title(p), "text": p.text} for p in self.passages(item, ctx)]
        return variables

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        self.held_passages[item.id] = None
        try:
            return await self.answer(item, ctx)
        finally:
            self.held_passages.pop(item.id, None)

    async def answer(self, item: Record, ctx: ItemContext) -> Outcome:
        plans = candidate_plans(ctx.recipe.answers)
        if len(plans) == 1 and plans[0].single:
            return await super().process(item, ctx)
        settled = self.precheck(item, ctx)
        if settled is not None:
            return settled
        variables = self.variables(item, ctx)
        # One prompt's candidates are asked at once; a failed ask fails the item (it is retried, and the
        # candidates that were answered come from the cache then).
        replies = await asyncio.gather(*(self.ask_candidate(item, plan, variables, ctx) for plan in plans),
                                       return_exceptions=True)
        failures = [reply for reply in replies if isinstance(reply, BaseException)]
        if failures:
            raise next((f for f in failures if isinstance(f, RunStopped)), failures[0])
        return candidates_outcome([self.candidate_outcome(item, reply, ctx, plan)
                                   for plan, reply in zip(plans, replies)])

    async def ask_candidate(self, item: Record, plan: CandidatePlan, variables: dict[str, Any],
                            ctx: ItemContext) -> WrittenAnswer:
        template = self.template_for(item, ctx)
        if plan.style is not None:  # the recipe's style: an instruction from us, outside every fence
            template = template.replace(".jinja", "_styled.jinja")
            variables = {**variables, "style": plan.style}
        return await ctx.ask(template, variables, self.output_schema, temperature=plan.temperature, seed=plan.seed)

    def on_reply(self, item: Record, reply: WrittenAnswer, ctx: ItemContext) -> Outcome:
        return self.candidate_outcome(item, reply, ctx, SINGLE)

    def candidate_outcome(self, item: Record, reply: WrittenAnswer, ctx: ItemContext, plan: CandidatePlan) -> Outcome:
        if not ctx.recipe.answers.rag:
            if PLACEHOLDER.fullmatch(reply.answer.strip()):
                return drop("placeholder_answer", f"the reply is a copied placeholder, not an answer: {reply.answer!r}")
            problem = answer_problem(reply.answer, titles=[], passages=[])
            if problem:
                return drop(*problem)
            meta = {"prompt_id": item.id, "rag": False, "citations": [], "subdomain": item.meta.get("subdomain"),
                    **plan.meta()}
            return keep(with_earlier_scores(ctx, item.child("answer", reply.answer.strip(), meta=meta,
                                                            origin=plan.origin("closed_book"))))
        passages = self.passages(item, ctx)
        answer = grounded_answer(item, reply.answer, passages, plan)
        if PLACEHOLDER.fullmatch(answer.text):
            return drop("placeholder_answer", f"the reply is a copied placeholder, not an answer: {answer.text!r}")
        if not answer.text:
            return drop("empty_answer",
                        f"the reply held only citations of passages that do not exist: {reply.answer!r}")
        problem = answer_problem(answer.text, [passage_title(p) for p in passages], [p.text for p in passages])
        if problem:
            return drop(*problem)
        return keep(with_earlier_scores(ctx, answer))

    @staticmethod
    def retrieve_step(ctx: ItemContext | RunContext) -> str:
        run = ctx.run if isinstance(ctx, ItemContext) else ctx
        return run.pipeline.step_of(AnswerRetrieveStep).name

    def passages(self, item: Record, ctx: ItemContext) -> list[HeldPassage]:
        """The prompt's passages as retrieval ranked them (a few small records, read once while the prompt
        is answered)."""
        passages = self.held_passages.get(item.id)
        if passages is None:
            held = prompt_retrievals(ctx.run).get(item.id)
            if held is not None and held.outcome is not None:
                passages = held.passages
            else:
                passages = ranked_passages(ctx.run.store, self.retrieve_step(ctx), item.id)
            if item.id in self.held_passages:
                self.held_passages[item.id] = passages
        return passages


class HeldRetrieval(NamedTuple):
    outcome: tuple[str, str | None] | None
    """Retrieval's (outcome, reason) on the prompt when the page was read; None: it had not processed it."""
    passages: list[HeldPassage]


class PromptRetrievals(PageMemo[str, HeldRetrieval]):
    """Retrieval's outcome on a page of pending prompts and their ranked passages, read in two queries instead
    of two per prompt. Retrieval runs before the answer step, never while it runs, so what a page holds stays
    true for the step's run; it is let go when the step's next pass begins (`reopen_inputs`)."""

    def read(self, run: RunContext, retrieve_step: str, prompt_ids: list[str]) -> None:
        ids = list(dict.fromkeys(prompt_ids))
        outcomes = run.store.progress.outcomes_of(retrieve_step, ids)
        passages = ranked_passages_many(run.store, retrieve_step, ids)
        self.hold({prompt_id: HeldRetrieval(outcomes.get(prompt_id), passages[prompt_id]) for prompt_id in ids})


def prompt_retrievals(run: RunContext) -> PromptRetrievals:
    return run.services.state(PromptRetrievals, PromptRetrievals)


def passage_title(passage: HeldPassage | Record) -> str:
    return passage.meta.get("title") or passage.meta.get("url") or ""


def with_earlier_scores(ctx: ItemContext, answer: Record) -> Record:
    """The same answer made again (same text and passages, so the same id) keeps the judge's scores: the
    store would otherwise replace its meta while `answer_eval` has nothing new to score. A candidate keeps
    what `answer_select` chose as well; an answer that is no candidate (any more) carries no choice."""
    earlier = ctx.run.store.records.meta_of(answer.id)
    if earlier is not None:
        choice = SELECTION_KEYS if "candidate_index" in answer.meta else ()
        for key in ("scores", "score_mean", "needs_review", *choice):
            if key in earlier:
                answer.meta[key] = earlier[key]
    return answer


def candidates_outcome(outcomes: list[Outcome]) -> Outcome:
    """The prompt's outcome from its candidates': the kept ones go on. A dropped candidate is no input of its
    own (the funnel counts prompts), so its reason goes into the kept candidates' meta `dropped_candidates`
    and the result's detail; with none kept, the prompt is dropped with the first candidate's reason."""
    kept = [answer for outcome in outcomes if outcome.status == Status.KEPT for answer in outcome.outputs]
    dropped = [{"index": index, "reason": outcome.reason or "dropped", "detail": outcome.detail or ""}
               for index, outcome in enumerate(outcomes) if outcome.status != Status.KEPT]
    summary = "; ".join(f"candidate {entry['index']} dropped: {entry['reason']}: {entry['detail'][:200]}"
                        for entry in dropped) or None
    if not kept:
        return drop(dropped[0]["reason"], f"every candidate was dropped ({summary})")
    for answer in kept:
        if dropped:
            answer.meta["dropped_candidates"] = dropped
        else:
            answer.meta.pop("dropped_candidates", None)
    return Outcome(Status.KEPT, kept, detail=summary)


def grounded_answer(prompt: Record, text: str, passages: Sequence[HeldPassage | Record],
                    plan: CandidatePlan | None = None) -> Record:
    checked = check_citations(text.strip(), len(passages))
    meta = {
        "prompt_id": prompt.id,
        "rag": True,
        "citations": citation_entries(checked.cited, passages),
        "invalid_citations": checked.unknown,
        "uncited": not checked.cited,  # grounded in name only: the judge and reviewers should look closer
        "passage_ids": [passage.id for passage in passages],
        "subdomain": prompt.meta.get("subdomain"),
        **(plan.meta() if plan is not None else {}),
    }
    return Record(kind="answer", text=checked.text, parent_ids=[prompt.id, *meta["passage_ids"]], meta=meta,
                  origin=plan.origin("rag") if plan is not None else "rag")
