"""Search queries for a prompt: the prompt itself plus LLM-written variations that
cover other aspects of it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from sftgen.llm.schemas import with_exactly
from sftgen.records import Record
from sftgen.core.step import LLMStep, Outcome, keep
from sftgen.core.context import ItemContext, RunContext


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

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        if ctx.recipe.answers.queries_per_prompt <= 1:  # the prompt itself is the one query
            return self.queries(item, [], ctx)
        return None

    def schema_for(self, item: Record, ctx: ItemContext) -> type[BaseModel]:
        return with_exactly(self.output_schema, "queries", ctx.recipe.answers.queries_per_prompt - 1)

    def on_reply(self, item: Record, reply: QueryVariations, ctx: ItemContext) -> Outcome:
        return self.queries(item, [" ".join(query.split()) for query in reply.queries if usable_query(query)], ctx)

    def queries(self, item: Record, variations: list[str], ctx: ItemContext) -> Outcome:
        texts = unique([item.text.strip(), *variations])[: ctx.recipe.answers.queries_per_prompt]
        return keep(*(query_record(item, text, index) for index, text in enumerate(texts)))


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
