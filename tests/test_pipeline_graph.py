"""The pipeline is one object built once from the recipe: it refuses a wiring that could only fail later,
and it is what the rest of sftgen asks about step order, who consumes whom and where review gates are."""

from __future__ import annotations

import pytest

from sftgen.core.graph import Pipeline, PipelineError, UnknownStep
from sftgen.pipeline import standard_pipeline
from sftgen.recipe import Recipe
from sftgen.steps.chunk import ChunkStep
from sftgen.steps.chunk_filter import ChunkFilterStep
from sftgen.steps.ingest import IngestStep
from sftgen.steps.profile import ProfileStep
from sftgen.steps.research import ResearchStep
from sftgen.steps.review_gate import PromptReviewGate
from tests.support.projects import TINY_RECIPE


def recipe(**sections) -> Recipe:
    return Recipe.model_validate({**TINY_RECIPE, **sections})


def test_the_standard_pipeline_runs_in_this_order_with_its_review_gates_in_place():
    pipeline = standard_pipeline(recipe(research={"enabled": True}))
    assert pipeline.names == [
        "ingest", "chunk", "chunk_filter", "profile", "generate", "broaden", "rephrase", "prompt_filter", "dedup",
        "review_gate", "research", "answer_queries", "answer_search", "answer_retrieve", "answer", "answer_eval",
        "answer_review_gate",
    ]
    assert pipeline.gate_for("prompt").name == "review_gate" and pipeline.final("prompt").name == "review_gate"
    assert pipeline.gate_for("answer").name == "answer_review_gate" == pipeline.final("answer").name
    assert [step.name for step in pipeline.consumers("review_gate")] == [
        "answer_queries", "answer_retrieve", "answer"]
    assert [step.name for step in pipeline.makers("prompt")] == ["generate", "broaden"]
    assert isinstance(pipeline.step_of(ResearchStep), ResearchStep)


def test_chunking_names_only_the_document_steps_that_exist():
    assert standard_pipeline(recipe()).step("chunk").upstream == ["ingest"]  # no research, no URL lists
    with_lists = standard_pipeline(recipe(research={"enabled": True, "url_lists": ["urls.txt"]}))
    assert with_lists.step("chunk").upstream == ["ingest", "url_list", "research"]
    no_answers = standard_pipeline(recipe(answers={"enabled": False}))
    assert no_answers.gate_for("answer") is None and no_answers.names[-1] == "review_gate"


def test_until_names_a_prefix_or_refuses_an_unknown_step():
    pipeline = standard_pipeline(recipe())
    assert [step.name for step in pipeline.until("chunk_filter")] == ["ingest", "chunk", "chunk_filter"]
    with pytest.raises(UnknownStep, match="--until chunks: no such step; the steps are: ingest, chunk"):
        pipeline.until("chunks")


@pytest.mark.parametrize("steps, message", [
    ([IngestStep(), ChunkStep(upstream=["ingest", "url_list"])], "'chunk' consumes from 'url_list', which is not"),
    ([IngestStep(), ChunkStep(upstream=["ingest"]), ProfileStep(upstream=["ingest"])],
     "'profile' consumes chunk records from 'ingest', which passes on none"),
    ([IngestStep(), ChunkStep(upstream=["ingest"]), ChunkStep(upstream=["ingest"])], "two steps are named 'chunk'"),
    ([IngestStep(), ChunkStep(upstream=["ingest"]), ChunkFilterStep()], "'chunk_filter' consumes chunk records but"),
    ([PromptReviewGate(upstream=["x"])], "'review_gate' consumes from 'x'"),
])
def test_a_wiring_that_cannot_run_is_refused_when_the_pipeline_is_built(steps, message):
    with pytest.raises(PipelineError, match=message):
        Pipeline(steps)


def test_two_review_gates_for_one_kind_are_refused():
    class SecondGate(PromptReviewGate):
        name = "second_gate"

    with pytest.raises(PipelineError, match="two review gates for prompt records"):
        Pipeline([*standard_pipeline(recipe(answers={"enabled": False})), SecondGate(upstream=["review_gate"])])
