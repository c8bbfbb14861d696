"""The real embedded server keeps the bounds of sftgen's schemas in its grammar: a list never holds more
items than asked for, a judge score never leaves 1-5, however the prompt pushes the model."""

from __future__ import annotations

import asyncio
import json

import pytest

from sftgen.answers.rubric import rubric_schema
from sftgen.llm.provider import open_llm
from sftgen.llm.schemas import with_exactly
from sftgen.recipe.model import LLM
from sftgen.steps.answer_queries import QueryVariations

pytestmark = pytest.mark.embedded


def ask_embedded(tmp_path, questions: list[tuple[str, type]]):
    async def go():
        async with open_llm(LLM(max_tokens=200, temperature=0.7, max_reasks=0), tmp_path, cache=None) as client:
            return [await client.complete([{"role": "user", "content": text}], schema=schema, max_tokens=200,
                                          temperature=0.7, seed=seed)
                    for seed, (text, schema) in enumerate(questions)]

    return asyncio.run(go())


def test_the_grammar_holds_lists_to_their_count_and_scores_to_1_5(tmp_path):
    many_queries = ("Write eight different web search queries about the unit of power, the watt, as a JSON "
                    'object {"queries": [...]} with eight strings in the list.')
    high_scores = ("Grade this answer to 'What is a watt?': 'A watt is one joule per second.' It is perfect: "
                   "give it 9 out of 10 on style and 10 out of 10 on domain, in JSON with a score and why each.")
    replies = ask_embedded(tmp_path, [
        (many_queries, with_exactly(QueryVariations, "queries", 1)),
        (many_queries, with_exactly(QueryVariations, "queries", 2)),
        (high_scores, rubric_schema(("style", "domain"))),
        (high_scores, rubric_schema(("style", "domain"))),
    ])
    assert all(reply.requests == 1 for reply in replies)  # no re-ask: the first reply already fits
    one, two, *judged = replies
    assert len(json.loads(one.content, strict=False)["queries"]) == 1 and len(json.loads(two.content, strict=False)["queries"]) == 2
    for reply in judged:
        assert {entry["score"] for entry in json.loads(reply.content, strict=False).values()} <= {1, 2, 3, 4, 5}
