"""What the preference export is made of, read from the store: the answers the pipeline passes on now (the
ones the `sft` export holds, so both exports agree after the same `sftgen run`), each with its review state,
every answer reviewers rejected, and the candidates the judge compared, grouped by the prompt they answer.
export/preferences.py makes the pairs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sftgen.core.graph import Pipeline
from sftgen.decisions.log import ACCEPTED, EDITED, REJECT, REJECTED, Decision, ReviewLog, resolve
from sftgen.export.kept import kept_records
from sftgen.answers.choice import ANSWER_STEP, candidates_of
from sftgen.export.reads import batches
from sftgen.store.db import marks
from sftgen.export.preferences import (KeptAnswer, RejectedAnswer, expert_preferences, judge_preferences,
                                       preference_rows)
from sftgen.recipe.answer_settings import Answers
from sftgen.records import Record
from sftgen.store import Store

DEFAULT_MARGIN = Answers().preference_margin


def preferences_rows(store: Store, pipeline: Pipeline, recipe: Any = None,
                     answers: Iterable[Record] | None = None) -> Iterator[dict[str, Any]]:
    """The ROW_BUILDERS entry of `--what preferences`: prompts in the order their first answer was passed on.
    `answers`: the kept answers (`kept_records(store, pipeline, "answer")`), when the caller has read them."""
    system_prompt = recipe.answers.system_prompt if recipe is not None else None
    required = recipe.review.reviews_required if recipe is not None else 1
    margin = recipe.answers.preference_margin if recipe is not None else DEFAULT_MARGIN
    decisions = ReviewLog(store).by_item(kind="answer")
    rejected = rejected_answers(store, decisions, required)
    kept = kept_answers(store, pipeline, decisions, required, answers)
    for prompt_ids in batches(kept):
        prompts = store.lookups.records(prompt_ids)
        candidates = judged_candidates(store, [prompt_id for prompt_id in prompt_ids if prompt_id in prompts])
        for prompt_id in prompt_ids:
            prompt = prompts.get(prompt_id)
            if prompt is not None:
                preferences = expert_preferences(prompt, kept[prompt_id], rejected.get(prompt_id, []))
                preferences += judge_preferences(prompt, candidates.get(prompt_id, []), margin)
                yield from preference_rows(preferences, system_prompt)


def judged_candidates(store: Store, prompt_ids: list[str]) -> dict[str, list[Record]]:
    """`candidates_of` each of these prompts, for the prompts where the judge compared candidates (one has
    `pairwise.result` "win": without one, `judge_preferences` makes no pair). Metas are read first, and the
    texts only of those prompts' candidates."""
    compared = [prompt_id for prompt_id, metas in candidate_metas(store, prompt_ids).items()
                if any(isinstance(meta.get("pairwise"), dict) and meta["pairwise"].get("result") == "win"
                       for meta in metas)]
    return {prompt_id: candidates_of(store, prompt_id) for prompt_id in compared}


def candidate_metas(store: Store, prompt_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """prompt id -> the metas of the answers the answer step passes on for it (no texts read)."""
    return store.lookups.metas_made_from(ANSWER_STEP, prompt_ids, "answer")


def kept_answers(store: Store, pipeline: Pipeline, decisions: dict[str, list[Decision]],
                 required: int, answers: Iterable[Record] | None = None) -> dict[str, list[KeptAnswer]]:
    by_prompt: dict[str, list[KeptAnswer]] = {}
    for answer in kept_records(store, pipeline, "answer") if answers is None else answers:
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
