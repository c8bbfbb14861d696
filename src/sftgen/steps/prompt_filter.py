"""An LLM judges each prompt for relevance, clarity, answerability and the factual
soundness of any claim it makes; the rest are dropped with a stable reason code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sftgen.llm.schemas import Sentence
from sftgen.records import Record
from sftgen.core.step import LLMFilterStep, Outcome, drop, keep
from sftgen.steps.chunk_filter import domain_brief
from sftgen.core.context import ItemContext, RunContext
from sftgen.steps.prompt_records import self_contained

PROMPT_DROP_REASONS = ("off_domain", "unclear", "unanswerable", "incorrect_premise", "not_self_contained")


class PromptVerdict(BaseModel):
    verdict: Literal["keep", "off_domain", "unclear", "unanswerable", "incorrect_premise", "not_self_contained"]
    explanation: Sentence = Field(description="One short sentence; name the wrong claim if any.")


class PromptVerdictReasonFirst(BaseModel):
    """`filters.reason_first`: the reason is written before the verdict, so the verdict follows from it."""

    explanation: Sentence = Field(description="One short sentence; name the wrong claim if any.")
    verdict: Literal["keep", "off_domain", "unclear", "unanswerable", "incorrect_premise", "not_self_contained"]


class PromptFilterStep(LLMFilterStep):
    """Drop prompts that are off-domain, unclear, unanswerable or rest on a false claim."""

    name = "prompt_filter"
    consumes = "prompt"
    produces = "prompt"
    template = "prompt_filter.jinja"
    output_schema = PromptVerdict
    reason_first_template = "prompt_filter_reason_first.jinja"
    reason_first_schema = PromptVerdictReasonFirst

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        return {"domain": domain_brief(ctx)}

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        if not self_contained(item.text):
            return drop("not_self_contained", "refers to a text the reader does not have")
        return None

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        return {"domain": ctx.recipe.domain, "prompt": item.text}

    def on_reply(self, item: Record, reply: PromptVerdict, ctx: ItemContext) -> Outcome:
        if reply.verdict == "keep":
            return keep()
        return drop(reply.verdict, reply.explanation)
