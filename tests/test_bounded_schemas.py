"""Every list an LLM writes has the length its template asks for, in the schema sent with the request;
judge scores are an enum 1-5 (llama.cpp's grammar keeps an enum, not a maximum)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from sftgen.answers.rubric import rubric_schema
from sftgen.llm.schemas import with_exactly
from sftgen.recipe import Recipe
from sftgen.steps.answer_queries import QueryVariations
from sftgen.steps.research import ResearchStep
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers, scores_reply, seed_prompts, template_of
from tests.support.projects import make_project
from tests.support.prompt_script import PromptScript
from tests.test_prompt_pipeline import docs_for, kept_prompts, progress, recipe, run


def list_bounds(body: dict) -> tuple[int, int]:
    response_format = body["response_format"]
    schema = response_format.get("schema") or response_format["json_schema"]["schema"]
    (field,) = [f for f in schema["properties"].values() if f.get("type") == "array"]
    return field["minItems"], field["maxItems"]


def test_a_bounded_list_holds_exactly_its_count():
    schema = with_exactly(QueryVariations, "queries", 2)
    assert schema.__name__ == "QueryVariations" and issubclass(schema, QueryVariations)
    assert list_bounds({"response_format": {"schema": schema.model_json_schema()}}) == (2, 2)
    assert schema.model_validate({"queries": ["a b", "c d"]}).queries == ["a b", "c d"]
    for wrong in (["a b"], ["a b", "c d", "e f"]):
        with pytest.raises(ValidationError):
            schema.model_validate({"queries": wrong})
    assert with_exactly(QueryVariations, "queries", 2) is schema  # made once


class BoundsSeen(PromptScript):
    """The prompt script, noting for each generate and broaden request how many items its text asks
    for and the list bounds its schema sets."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, int, tuple[int, int]]] = []

    def __call__(self, step, body):
        reply = super().__call__(step, body)
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        if step == "generate":
            asked = re.search(r"Question types, in this order: (.+)\.$", user, re.MULTILINE)
            self.seen.append((step, len(asked.group(1).split(", ")), list_bounds(body)))
        elif step == "broaden":
            asked = re.search(r"as asked by: (.+)\.$", user, re.MULTILINE)
            self.seen.append((step, len(asked.group(1).split("; ")), list_bounds(body)))
        return reply


def test_generate_and_broaden_ask_for_as_many_items_as_their_templates_name(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 3, "gluons": 3, "hadrons": 2}),
                           recipe(per_profile=3, variants_per_prompt=2))
    script = BoundsSeen()
    with running_fake_server() as server:
        server.script_steps(script)
        run(project, server)
    assert {step for step, _, _ in script.seen} == {"generate", "broaden"}
    assert all(bounds == (asked, asked) for _, asked, bounds in script.seen), script.seen
    assert {asked for step, asked, _ in script.seen if step == "generate"} <= {1, 2, 3}
    assert kept_prompts(project)


def test_five_queries_where_one_was_asked_are_refused_and_asked_again(tmp_path):
    project = make_answer_project(tmp_path / "p", queries_per_prompt=2)
    (prompt,) = seed_prompts(project, [("What is the unit of power in watts?", "quarks")])
    bounds = []

    def script(step, body):
        if template_of(step, body) == "answer_queries":
            bounds.append(list_bounds(body))
            five = ["watt unit definition", "power in watts", "joule per second", "watt history", "kilowatt"]
            return json.dumps({"queries": five if len(bounds) == 1 else ["watt unit definition"]})
        if template_of(step, body) == "answer":
            return json.dumps({"answer": "One joule per second [1]."})
        return scores_reply(4) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)
    assert bounds == [(1, 1), (1, 1)]
    (row,) = progress(project, "answer_queries")
    assert row["outcome"] == "kept" and row["llm_requests"] == 2


def test_research_queries_are_bounded_by_queries_per_profile():
    domain = {"name": "physics", "subdomains": [{"name": "units", "share": 1}]}
    ctx = SimpleNamespace(recipe=Recipe(domain=domain, research={"queries_per_profile": 3}))
    schema = ResearchStep().schema(ctx).model_json_schema()
    assert (schema["properties"]["queries"]["minItems"], schema["properties"]["queries"]["maxItems"]) == (3, 3)


def test_judge_scores_are_an_enum_from_1_to_5():
    schema = rubric_schema(("style", "domain"))
    score = schema.model_json_schema()["$defs"]["DimensionScore"]["properties"]["score"]
    assert score["enum"] == [1, 2, 3, 4, 5] and "maximum" not in score
    assert schema.model_validate({"style": {"score": 5, "why": "ok"}, "domain": {"score": 1, "why": "no"}})
    for wrong in (0, 6, 7, 4.5):
        with pytest.raises(ValidationError):
            schema.model_validate({"style": {"score": wrong, "why": "ok"}, "domain": {"score": 3, "why": "ok"}})


def test_a_long_explanation_is_cut_after_parsing_not_refused():
    from sftgen.steps.chunk_filter import ChunkVerdict

    schema = ChunkVerdict.model_json_schema()["properties"]["explanation"]
    assert "maxLength" not in schema  # not in the grammar: 4x slower there (bench/grammar_cost.py)
    long = "The passage explains how the watt is defined and why " + "it matters a great deal " * 20
    verdict = ChunkVerdict.model_validate({"verdict": "keep", "explanation": long})
    assert len(verdict.explanation) <= 200 and verdict.explanation.endswith("…")
    assert long.startswith(verdict.explanation[:-1])
    assert ChunkVerdict.model_validate({"verdict": "keep", "explanation": " Short. "}).explanation == "Short."
