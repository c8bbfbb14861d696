"""Answer step 1a: search queries for a prompt: the prompt itself plus LLM-written variations that
cover other aspects of it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from sftgen.llm.schemas import with_exactly
from sftgen.records import Record
from sftgen.steps.base import LLMStep, Outcome, keep
from sftgen.steps.context import ItemContext, RunContext


class QueryVariations(BaseModel):
    queries: list[str] = Field(description="Short search queries, each on a different aspect of the question.")


class AnswerQueriesStep(LLMStep):
    """Write search queries for each prompt (the prompt plus variations)."""

    name = "answer_queries"
    consumes = "prompt"
    produces = "query"
    template = "answer_queries.jinja"
    output_schema = QueryVariations

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        count = ctx.recipe.answers.queries_per_prompt
        return {"queries_per_prompt": count,
                "schema": with_exactly(QueryVariations, "queries", max(1, count - 1)).model_json_schema()}

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        return {"domain": ctx.recipe.domain, "prompt": item.text, "count": ctx.recipe.answers.queries_per_prompt - 1}

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        wanted = ctx.recipe.answers.queries_per_prompt
        texts = [item.text.strip()]
        if wanted > 1:
            schema = with_exactly(self.output_schema, "queries", wanted - 1)
            reply = await ctx.ask(self.template, self.variables(item, ctx), schema)
            texts += [" ".join(query.split()) for query in reply.queries if usable_query(query)]
        return keep(*(query_record(item, text, index) for index, text in enumerate(unique(texts)[:wanted])))


WORD = re.compile(r"[^\W\d_]{3,}")


def usable_query(text: str) -> bool:
    """Two real words at least, and no template placeholder copied back (small models do that)."""
    return len(WORD.findall(text)) >= 2 and "<" not in text and ">" not in text


def unique(texts: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for text in texts:
        key = text.casefold()
        if text and key not in seen:
            seen.add(key)
            result.append(text)
    return result


def query_record(prompt: Record, text: str, index: int) -> Record:
    meta = {"purpose": "answer", "prompt_id": prompt.id, "subdomain": prompt.meta.get("subdomain"), "index": index}
    return prompt.child("query", text, meta=meta, origin=f"answer:{index}")
