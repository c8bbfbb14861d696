"""`sftgen export --what preferences`: which answer is better than which, as `{prompt, chosen, rejected}` rows
in the conversational form TRL's `DPOTrainer` reads (lists of `{role, content}` messages).

Pure: the functions here see records and review states, never the store (export/preference_reads.py
gathers them). What makes a pair, per `PreferenceSource`:
- `expert_edit`: an answer the pipeline passes on as a reviewer's edit, over the original answer it was
  made from (meta `original_id`);
- `expert_reject`: an answer reviewers accepted (as it was, or edited), over each answer of the same
  prompt that reviewers rejected (the version the rejecting reviewer saw);
- `judge`: with answer candidates, the judge's pairwise winner over the loser (meta `pairwise.result` "win",
  asked in both orders), only when the winner's mean rubric score is at least `answers.preference_margin`
  above the loser's (the rubric agrees with the comparison, by that much); a tie makes no pair;
- `expert_pick`: a reviewer's pick among a prompt's candidates over each other candidate.
A pair whose two answers have the same text (after trimming) is no preference and makes no row; the same
(chosen, rejected) pair twice makes one row, from the first source that made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sftgen.answers.choice import is_chosen
from sftgen.records import Record, stable_hash


EXPERT = "expert"
"""`chosen_by` of a candidate a reviewer picked (steps/review_gate.py sets it)."""


class PreferenceSource(StrEnum):
    EXPERT_EDIT = "expert_edit"
    EXPERT_PICK = "expert_pick"
    EXPERT_REJECT = "expert_reject"
    JUDGE = "judge"


@dataclass(frozen=True)
class Preference:
    """`chosen` is a better answer to `prompt` than `rejected`, says `source` (and `reviewer`, for an expert)."""

    source: PreferenceSource
    prompt: Record
    chosen: Record
    rejected: Record
    reviewer: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class KeptAnswer:
    """An answer the pipeline passes on, with what reviewers made of the item it is a version of."""

    answer: Record
    accepted: bool
    """Reviewers accepted it (as it was or as this edit): it can stand as `chosen` against a rejected answer."""
    original: Record | None = None
    """For a reviewer's edit: the answer as the pipeline made it."""


@dataclass(frozen=True)
class RejectedAnswer:
    answer: Record
    """The version the rejecting reviewer saw."""
    reviewer: str
    reason: str | None


def pick_preferences(prompt: Record, kept: list[KeptAnswer]) -> list[Preference]:
    """`expert_pick`: the candidate a reviewer picked (as the answer review gate passes it on: `chosen_by:
    "expert"`, the reviewer's edit of it if they edited it) over each other candidate of the prompt."""
    picked = [item.answer for item in kept
              if item.answer.meta.get("chosen_by") == EXPERT and is_chosen(item.answer)]
    if len(picked) != 1:
        return []  # nobody picked (or the store is mid-run): no expert pick to pair
    others = [item.answer for item in kept
              if item.answer.meta.get("candidate_index") is not None and not is_chosen(item.answer)]
    winner = picked[0]
    return [Preference(PreferenceSource.EXPERT_PICK, prompt, winner, other, reviewer=winner.meta.get("picked_by"))
            for other in others]


def expert_preferences(prompt: Record, kept: Iterable[KeptAnswer], rejected: Iterable[RejectedAnswer]) -> list[Preference]:
    """The experts' preferences among one prompt's answers: each edit over its original, the picked candidate
    over each other candidate, then each accepted answer over each rejected one."""
    kept, rejected = list(kept), list(rejected)
    preferences = [
        Preference(PreferenceSource.EXPERT_EDIT, prompt, item.answer, item.original,
                   reviewer=item.answer.meta.get("edited_by"))
        for item in kept if item.original is not None
    ]
    preferences += pick_preferences(prompt, kept)
    preferences += [
        Preference(PreferenceSource.EXPERT_REJECT, prompt, item.answer, loser.answer, reviewer=loser.reviewer,
                   reason=loser.reason)
        for item in kept if item.accepted for loser in rejected
    ]
    return preferences


def judge_preferences(prompt: Record, candidates: Iterable[Record], margin: float) -> list[Preference]:
    """The judge's pairwise wins among one prompt's candidates (as the judge compared them), above the margin."""
    candidates = list(candidates)
    by_id = {candidate.id: candidate for candidate in candidates}
    preferences = []
    for winner in candidates:
        pairwise = winner.meta.get("pairwise") or {}
        loser = by_id.get(pairwise.get("other", ""))
        if pairwise.get("result") != "win" or loser is None:
            continue
        winner_score, loser_score = score_of(winner), score_of(loser)
        if winner_score is None or loser_score is None or round(winner_score - loser_score, 3) < margin:
            continue
        preferences.append(Preference(PreferenceSource.JUDGE, prompt, winner, loser,
                                      reason=winner.meta.get("chosen_reason")))
    return preferences


def same_text(first: str, second: str) -> bool:
    return first.strip() == second.strip()


def pair_id(preference: Preference) -> str:
    return "pair_" + stable_hash(preference.source.value, preference.prompt.id, preference.chosen.id, preference.rejected.id)


def prompt_messages(prompt: Record, system_prompt: str | None) -> list[dict[str, str]]:
    """The same messages the `sft` export puts before the answer."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return messages + [{"role": "user", "content": prompt.text}]


def score_of(answer: Record) -> float | None:
    score = answer.meta.get("score_mean")
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None


def preference_row(preference: Preference, system_prompt: str | None = None) -> dict[str, Any] | None:
    """The pair as a row of `preference_schema()`; None when both answers say the same."""
    if not isinstance(preference.source, PreferenceSource):
        raise ValueError(f"preference source {preference.source!r} is not one of "
                         f"{', '.join(source.value for source in PreferenceSource)}")
    chosen, rejected = preference.chosen, preference.rejected
    if chosen.id == rejected.id or same_text(chosen.text, rejected.text):
        return None
    return {
        "id": pair_id(preference),
        "prompt": prompt_messages(preference.prompt, system_prompt),
        "chosen": [{"role": "assistant", "content": chosen.text}],
        "rejected": [{"role": "assistant", "content": rejected.text}],
        "source": preference.source.value,
        "prompt_id": preference.prompt.id,
        "chosen_id": chosen.id,
        "rejected_id": rejected.id,
        "reviewer": preference.reviewer,
        "reason": preference.reason,
        "chosen_score": score_of(chosen),
        "rejected_score": score_of(rejected),
        "subdomain": preference.prompt.meta.get("subdomain"),
    }


def preference_rows(preferences: Iterable[Preference], system_prompt: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows in the order of the preferences, without same-text pairs and without a pair already written."""
    seen: set[tuple[str, str]] = set()
    for preference in preferences:
        key = (preference.chosen.id, preference.rejected.id)
        if key in seen:
            continue
        row = preference_row(preference, system_prompt)
        if row is not None:
            seen.add(key)
            yield row
