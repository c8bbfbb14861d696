"""The pipeline: the ordered list of steps the recipe names, each wired to the steps it consumes from."""

from __future__ import annotations

from sftgen.recipe import Recipe
from sftgen.review.gate import PromptReviewGate, with_review_gates
from sftgen.steps.answer_pipeline import answer_steps
from sftgen.steps.base import Step
from sftgen.steps.broaden import BroadenStep
from sftgen.steps.chunk import ChunkStep
from sftgen.steps.chunk_filter import ChunkFilterStep
from sftgen.steps.dedup import DedupStep
from sftgen.steps.generate import GenerateStep
from sftgen.steps.ingest import IngestStep
from sftgen.steps.profile import ProfileStep
from sftgen.steps.prompt_filter import PromptFilterStep
from sftgen.steps.rephrase import RephraseStep
from sftgen.steps.research import ResearchStep
from sftgen.steps.url_list import UrlListStep


def build_pipeline(recipe: Recipe) -> list[Step]:
    steps: list[Step] = [
        IngestStep(),
        *([UrlListStep()] if recipe.research.url_lists else []),
        ChunkStep(upstream=["ingest", "url_list", "research"]),  # research pages loop back to chunking
        ChunkFilterStep(upstream=["chunk"]),
        ProfileStep(upstream=["chunk_filter"]),
        GenerateStep(upstream=["profile"]),
        BroadenStep(upstream=["generate"]),
        RephraseStep(upstream=["generate", "broaden"]),  # originals and their variants
        PromptFilterStep(upstream=["rephrase"]),
        DedupStep(upstream=["prompt_filter"], verifier=recipe.dedup.verifier == "llm"),
        # Reviewers' decisions flow back here: the last step that passes prompts on, so exports and the
        # answer half read prompts from it (accepted / edited versions; rejected ones dropped).
        PromptReviewGate(upstream=["dedup"]),
    ]
    if recipe.research.enabled:
        # After the prompt steps, so each pass sees the prompts earlier pages made before it fetches more.
        steps.append(ResearchStep(upstream=["profile"]))
    # The answer half reads prompts from the last step that keeps them: add prompt steps above this line.
    steps += answer_steps(recipe, steps)
    return with_review_gates(steps)  # and answer_review_gate after the last answer step


def step_names(steps: list[Step]) -> list[str]:
    return [step.name for step in steps]


def steps_passing_on(steps: list[Step], kind: str) -> list[Step]:
    """The steps that emit records of this kind, in pipeline order: its makers, then its filters."""
    return [step for step in steps if step.produces == kind or (step.passes_input_on and step.consumes == kind)]


def final_step_for(steps: list[Step], kind: str) -> Step | None:
    """The last step that passes on records of this kind: its emits are the kind's kept records."""
    passing = steps_passing_on(steps, kind)
    return passing[-1] if passing else None
