"""The LLM answers each prompt from its retrieved passages, fenced as data, and cites
them as [1], [2]. Citations are mapped to the passages' URLs; a number that matches no retrieved
passage is removed from the text and listed in `invalid_citations`. With `answers.rag: false` the model
answers alone and the answer is marked `rag: false`."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from sftgen.answers.answer_text import answer_problem
from sftgen.answers.citations import check_citations, citation_entries
from sftgen.answers.upstream import emitted_from, require_processed
from sftgen.records import Record, Status
from sftgen.core.step import LLMStep, Outcome, drop, keep
from sftgen.core.context import ItemContext, RunContext
from sftgen.steps.answer_retrieve import AnswerRetrieveStep

PLACEHOLDER = re.compile(r"<[^<>]{0,80}>")
"""A reply like "<the answer>": small models copy a template's placeholder instead of answering."""
GROUNDED_TEMPLATE = "answer.jinja"
CLOSED_BOOK_TEMPLATE = "answer_closed_book.jinja"


class WrittenAnswer(BaseModel):
    answer: str = Field(min_length=1, description="The answer, with [n] citations when passages were given.")


class AnswerStep(LLMStep):
    """Answer each prompt from its passages (or from the model alone with RAG off)."""

    name = "answer"
    consumes = "prompt"
    produces = "answer"
    template = GROUNDED_TEMPLATE
    output_schema = WrittenAnswer

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        answers = ctx.recipe.answers
        template = GROUNDED_TEMPLATE if answers.rag else CLOSED_BOOK_TEMPLATE
        settings = {"template": ctx.templates.fingerprint(template), "schema": WrittenAnswer.model_json_schema(),
                    "model": ctx.llm_identity, "rag": answers.rag}
        if answers.rag:  # new passages (other retrieval settings) mean new answers
            settings["retrieval"] = answers.model_dump(
                include={"queries_per_prompt", "pages_per_query", "passages_per_answer", "passage_size",
                         "passage_overlap"})
        return settings

    def template_for(self, item: Record, ctx: ItemContext) -> str:
        return GROUNDED_TEMPLATE if ctx.recipe.answers.rag else CLOSED_BOOK_TEMPLATE

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        if not ctx.recipe.answers.rag:
            return None
        outcome, reason = require_processed(ctx.run.store, self.retrieve_step(ctx), item)
        if outcome == Status.DROPPED:
            return drop(reason or "no_passages", "retrieval found no passages for this prompt")
        if not self.passages(item, ctx):
            return drop("no_passages", "retrieval kept no passages for this prompt")
        return None

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        variables = {"domain": ctx.recipe.domain, "prompt": item.text}
        if ctx.recipe.answers.rag:
            variables["passages"] = [{"title": passage_title(p), "text": p.text} for p in self.passages(item, ctx)]
        return variables

    def on_reply(self, item: Record, reply: WrittenAnswer, ctx: ItemContext) -> Outcome:
        if not ctx.recipe.answers.rag:
            if PLACEHOLDER.fullmatch(reply.answer.strip()):
                return drop("placeholder_answer", f"the reply is a copied placeholder, not an answer: {reply.answer!r}")
            problem = answer_problem(reply.answer, titles=[], passages=[])
            if problem:
                return drop(*problem)
            meta = {"prompt_id": item.id, "rag": False, "citations": [], "subdomain": item.meta.get("subdomain")}
            return keep(with_earlier_scores(ctx, item.child("answer", reply.answer.strip(), meta=meta,
                                                            origin="closed_book")))
        passages = self.passages(item, ctx)
        answer = grounded_answer(item, reply.answer, passages)
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
    def retrieve_step(ctx: ItemContext) -> str:
        return ctx.run.pipeline.step_of(AnswerRetrieveStep).name

    def passages(self, item: Record, ctx: ItemContext) -> list[Record]:
        """The prompt's passages as retrieval ranked them (a few small records, read where needed)."""
        return sorted(emitted_from(ctx.run.store, self.retrieve_step(ctx), item.id, "passage"),
                      key=lambda passage: passage.meta.get("rank", 0))


def passage_title(passage: Record) -> str:
    return passage.meta.get("title") or passage.meta.get("url") or ""


def with_earlier_scores(ctx: ItemContext, answer: Record) -> Record:
    """The same answer made again (same text and passages, so the same id) keeps the judge's scores: the
    store would otherwise replace its meta while `answer_eval` has nothing new to score."""
    earlier = ctx.run.store.get(answer.id)
    if earlier is not None:
        for key in ("scores", "score_mean", "needs_review"):
            if key in earlier.meta:
                answer.meta[key] = earlier.meta[key]
    return answer


def grounded_answer(prompt: Record, text: str, passages: list[Record]) -> Record:
    checked = check_citations(text.strip(), len(passages))
    meta = {
        "prompt_id": prompt.id,
        "rag": True,
        "citations": citation_entries(checked.cited, passages),
        "invalid_citations": checked.unknown,
        "uncited": not checked.cited,  # grounded in name only: the judge and reviewers should look closer
        "passage_ids": [passage.id for passage in passages],
        "subdomain": prompt.meta.get("subdomain"),
    }
    return Record(kind="answer", text=checked.text, parent_ids=[prompt.id, *meta["passage_ids"]], meta=meta,
                  origin="rag")
