"""What the preference export is made of, read from the store: the answers the pipeline passes on now (the
ones the `sft` export holds, so both exports agree after the same `sftgen run`), each with its review state,
every answer reviewers rejected, and the candidates the judge compared, grouped by the prompt they answer.
export/preferences.py makes the pairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sftgen.core.graph import Pipeline
from sftgen.decisions.log import ACCEPTED, EDITED, REJECT, REJECTED, Decision, ReviewLog, resolve
from sftgen.export.kept import kept_records
from sftgen.answers.choice import candidates_of
from sftgen.export.preferences import (KeptAnswer, RejectedAnswer, expert_preferences, judge_preferences,
                                       preference_rows)
from sftgen.recipe.answer_settings import Answers
from sftgen.records import Record
from sftgen.store import Store

DEFAULT_MARGIN = Answers().preference_margin


def preferences_rows(store: Store, pipeline: Pipeline, recipe: Any = None) -> Iterator[dict[str, Any]]:
    """The ROW_BUILDERS entry of `--what preferences`: prompts in the order their first answer was passed on."""
    system_prompt = recipe.answers.system_prompt if recipe is not None else None
    required = recipe.review.reviews_required if recipe is not None else 1
    margin = recipe.answers.preference_margin if recipe is not None else DEFAULT_MARGIN
    decisions = ReviewLog(store).by_item(kind="answer")
    rejected = rejected_answers(store, decisions, required)
    for prompt_id, kept in kept_answers(store, pipeline, decisions, required).items():
        prompt = store.get(prompt_id)
        if prompt is not None:
            preferences = expert_preferences(prompt, kept, rejected.get(prompt_id, []))
            preferences += judge_preferences(prompt, candidates_of(store, prompt_id), margin)
            yield from preference_rows(preferences, system_prompt)


def kept_answers(store: Store, pipeline: Pipeline, decisions: dict[str, list[Decision]],
                 required: int) -> dict[str, list[KeptAnswer]]:
    by_prompt: dict[str, list[KeptAnswer]] = {}
    for answer in kept_records(store, pipeline, "answer"):
        item_id = answer.meta.get("original_id") or answer.id
        state = resolve(item_id, decisions.get(item_id, []), required)
        accepted = state.status in (ACCEPTED, EDITED) and state.version_id == answer.id
        original = store.get(item_id) if item_id != answer.id else None
        by_prompt.setdefault(answer.meta.get("prompt_id", ""), []).append(KeptAnswer(answer, accepted, original))
    return by_prompt


def rejected_answers(store: Store, decisions: dict[str, list[Decision]], required: int) -> dict[str, list[RejectedAnswer]]:
    """Answers whose reviewers settled on a rejection, by prompt id: the version the last rejecting reviewer saw."""
    by_prompt: dict[str, list[RejectedAnswer]] = {}
    for item_id, item_decisions in decisions.items():
        if resolve(item_id, item_decisions, required).status != REJECTED:
            continue
        last = max((d for d in item_decisions if d.decision == REJECT), key=lambda d: d.seq)
        seen: Record | None = store.get(last.version_id)
        if seen is not None:
            by_prompt.setdefault(seen.meta.get("prompt_id", ""), []).append(RejectedAnswer(seen, last.reviewer, last.reason))
    return by_prompt
