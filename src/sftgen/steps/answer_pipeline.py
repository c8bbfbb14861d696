"""The answer half's steps, wired after the step that keeps prompts last.

`prompts_from` is read from one place (`final_step_for(steps, "prompt")`): `dedup` today, or a review
gate that passes accepted prompts on, if one is put after it.
"""

from __future__ import annotations

from sftgen.recipe import Recipe
from sftgen.steps.answer import AnswerStep
from sftgen.steps.answer_eval import AnswerEvalStep
from sftgen.steps.answer_queries import AnswerQueriesStep
from sftgen.steps.answer_retrieve import AnswerRetrieveStep
from sftgen.core.step import Step


def answer_steps(recipe: Recipe, steps: list[Step]) -> list[Step]:
    """The answer steps for a pipeline whose prompt steps are `steps`; none without a prompt step."""
    from sftgen.pipeline import final_step_for

    source = final_step_for(steps, "prompt")
    if not recipe.answers.enabled or source is None:
        return []
    added: list[Step] = []
    if recipe.answers.rag:
        from sftgen.steps.answer_search import AnswerSearchStep

        added += [
            AnswerQueriesStep(upstream=[source.name]),
            AnswerSearchStep(upstream=["answer_queries"]),
            AnswerRetrieveStep(upstream=[source.name]),
        ]
    added.append(AnswerStep(upstream=[source.name]))
    if recipe.answers.evaluate:
        added.append(AnswerEvalStep(upstream=["answer"]))
    return added
