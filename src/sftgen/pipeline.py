"""The standard pipeline: the steps a recipe names, in run order, each wired to the steps it consumes from.

The only module that names step classes. `Pipeline` (core/graph.py) checks the wiring when it is built.

    ingest [url_list] -> chunk -> chunk_filter -> profile -> generate -> broaden -> rephrase -> prompt_filter
        -> dedup -> review_gate [-> research -> back to chunk]
        [-> answer_queries -> answer_search -> answer_retrieve -> answer [-> answer_eval] [-> answer_select]
           -> answer_review_gate]
"""

from __future__ import annotations

from sftgen.core.graph import Pipeline
from sftgen.core.step import Step
from sftgen.recipe import Recipe
from sftgen.steps.answer import AnswerStep
from sftgen.steps.answer_eval import AnswerEvalStep
from sftgen.steps.answer_queries import AnswerQueriesStep
from sftgen.steps.answer_retrieve import AnswerRetrieveStep
from sftgen.steps.answer_search import AnswerSearchStep
from sftgen.steps.answer_select import AnswerSelectStep
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
from sftgen.steps.review_gate import AnswerReviewGate, PromptReviewGate
from sftgen.steps.url_list import UrlListStep


def standard_pipeline(recipe: Recipe) -> Pipeline:
    url_lists, research = bool(recipe.research.url_lists), recipe.research.enabled
    documents = [IngestStep.name, *([UrlListStep.name] if url_lists else []),
                 *([ResearchStep.name] if research else [])]  # research pages loop back to chunking
    steps: list[Step] = [
        IngestStep(),
        *([UrlListStep()] if url_lists else []),
        ChunkStep(upstream=documents),
        ChunkFilterStep(upstream=[ChunkStep.name]),
        ProfileStep(upstream=[ChunkFilterStep.name]),
        GenerateStep(upstream=[ProfileStep.name]),
        BroadenStep(upstream=[GenerateStep.name]),
        RephraseStep(upstream=[GenerateStep.name, BroadenStep.name]),  # originals and their variants
        PromptFilterStep(upstream=[RephraseStep.name]),
        DedupStep(upstream=[PromptFilterStep.name], verifier=recipe.dedup.verifier == "llm"),
        # Reviewers' decisions on prompts flow back here: the last step that passes prompts on, so exports
        # and the answer half read prompts from it (accepted and edited versions; rejected ones dropped).
        PromptReviewGate(upstream=[DedupStep.name]),
    ]
    if research:
        # After the prompt steps, so each pass sees the prompts earlier pages made before it fetches more.
        steps.append(ResearchStep(upstream=[ProfileStep.name]))
    steps += answer_steps(recipe, prompts_from=PromptReviewGate.name)
    return Pipeline(steps)


def answer_steps(recipe: Recipe, prompts_from: str) -> list[Step]:
    """The answer half, reading prompts from `prompts_from`, with the review gate of answers at its end."""
    answers = recipe.answers
    if not answers.enabled:
        return []
    steps: list[Step] = []
    if answers.rag:
        steps += [
            AnswerQueriesStep(upstream=[prompts_from]),
            AnswerSearchStep(upstream=[AnswerQueriesStep.name]),
            AnswerRetrieveStep(upstream=[prompts_from]),  # reads the pages answer_search found (answers/upstream.py)
        ]
    steps.append(AnswerStep(upstream=[prompts_from]))  # reads the passages answer_retrieve kept
    if answers.evaluate:
        steps.append(AnswerEvalStep(upstream=[AnswerStep.name]))
    if answers.candidates > 1:  # one of each prompt's candidates is chosen, after the judge has scored them all
        steps.append(AnswerSelectStep(upstream=[steps[-1].name]))
    steps.append(AnswerReviewGate(upstream=[steps[-1].name]))
    return steps
