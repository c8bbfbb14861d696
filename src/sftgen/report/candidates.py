"""The report's section on candidate answers and preference pairs (issue 15 item 6):
- agreement: over the prompts whose candidates a reviewer picked from, how often the judge's own pick
  (`judge_chosen`, which the review gate never overwrites) is the candidate the experts picked;
- spread: per prompt with two or more judged candidates, the highest minus the lowest mean rubric score;
- pairs: the preference export's pairs counted by source (every source named)."""

from __future__ import annotations

from collections import Counter
from statistics import mean, median
from typing import Any

from sftgen.core.graph import Pipeline
from sftgen.export.kept import kept_records
from sftgen.export.preference_reads import preferences_rows
from sftgen.export.preferences import EXPERT, PreferenceSource, score_of
from sftgen.recipe import Recipe
from sftgen.records import Record
from sftgen.store import Store


def judge_expert_agreement(passed_on: list[Record]) -> dict[str, Any]:
    """`prompts`: prompts with an expert pick among the answers passed on; `agree`: those where the picked
    candidate is the one the judge chose; `share`: agree / prompts (None without a pick)."""
    picked = {}
    for answer in passed_on:
        if answer.meta.get("chosen_by") == EXPERT and answer.meta.get("chosen") is True:
            picked[answer.meta.get("prompt_id")] = bool(answer.meta.get("judge_chosen"))
    agree = sum(picked.values())
    return {"prompts": len(picked), "agree": agree, "share": round(agree / len(picked), 2) if picked else None}


def score_spread(judged: list[Record]) -> dict[str, Any]:
    """Per prompt with two or more scored candidates: best minus worst mean rubric score."""
    by_prompt: dict[str, list[float]] = {}
    for answer in judged:
        score = score_of(answer)
        if answer.meta.get("candidate_index") is not None and score is not None:
            by_prompt.setdefault(answer.meta.get("prompt_id"), []).append(score)
    spreads = [max(scores) - min(scores) for scores in by_prompt.values() if len(scores) > 1]
    return {"prompts": len(spreads), "mean": round(mean(spreads), 3) if spreads else None,
            "median": round(median(spreads), 3) if spreads else None,
            "max": round(max(spreads), 3) if spreads else None}


def candidates_section(store: Store, pipeline: Pipeline, recipe: Recipe, judged: list[Record],
                       passed_on: list[Record] | None = None) -> dict[str, Any]:
    """`passed_on`: the kept answers (`kept_records(store, pipeline, "answer")`), when the caller has read them."""
    if passed_on is None:
        passed_on = list(kept_records(store, pipeline, "answer"))
    with_candidates = {a.meta.get("prompt_id") for a in judged if a.meta.get("candidate_index") is not None}
    pairs = Counter(row["source"] for row in preferences_rows(store, pipeline, recipe, answers=passed_on))
    return {
        "prompts_with_candidates": len(with_candidates),
        "judge_vs_expert_pick": judge_expert_agreement(passed_on),
        "score_spread": score_spread(judged),
        "preference_pairs": {source.value: pairs.get(source.value, 0) for source in PreferenceSource},
    }


def summary_lines(section: dict[str, Any]) -> list[str]:
    """What `sftgen report` prints about candidates and preference pairs."""
    lines = []
    agreement = section["judge_vs_expert_pick"]
    if agreement["prompts"]:
        lines.append(f"candidates: the judge's pick matches the experts' pick on {agreement['agree']} of "
                     f"{agreement['prompts']} prompts ({agreement['share']:.2f})")
    elif section["prompts_with_candidates"]:
        lines.append(f"candidates: {section['prompts_with_candidates']} prompts with candidates, none picked by a "
                     "reviewer yet")
    spread = section["score_spread"]
    if spread["prompts"]:
        lines.append(f"candidates: score spread between a prompt's candidates, mean {spread['mean']:g}, "
                     f"max {spread['max']:g} over {spread['prompts']} prompts")
    pairs = section["preference_pairs"]
    if any(pairs.values()):
        lines.append("preference pairs: " + ", ".join(f"{source} {count}" for source, count in pairs.items()))
    return lines
