"""Review decisions and LLM scores: accepted / rejected / edited counts (as `sftgen status` shows them),
the judge's score distribution per rubric dimension, and LLM-vs-expert calibration (`review.agreement`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sftgen.answers.judge_health import judge_health
from sftgen.core.graph import Pipeline
from sftgen.recipe import Recipe
from sftgen.records import Record
from sftgen.review.agreement import calibration
from sftgen.decisions.log import ReviewLog
from sftgen.decisions.policy import llm_scores
from sftgen.review.queue import review_counts
from sftgen.review.views import rubric_dimensions
from sftgen.store import Store


def score_distributions(answers: list[Record]) -> dict[str, dict[str, Any]]:
    """Per dimension: how many answers got each score, and the mean."""
    per_dimension: dict[str, Counter] = {}
    for answer in answers:
        for dimension, score in llm_scores(answer).items():
            per_dimension.setdefault(dimension, Counter())[score] += 1
    out = {}
    for dimension, counts in sorted(per_dimension.items()):
        n = sum(counts.values())
        out[dimension] = {
            "n": n, "mean": round(sum(score * count for score, count in counts.items()) / n, 3),
            "counts": {format_score(score): counts[score] for score in sorted(counts)},
        }
    return out


def format_score(score: float) -> str:
    return str(int(score)) if float(score).is_integer() else str(score)


def review_section(store: Store, pipeline: Pipeline, recipe: Recipe, judged: list[Record]) -> dict[str, Any]:
    decisions = ReviewLog(store).decisions()
    answer_ids = {d.item_id for d in decisions if d.kind == "answer"}
    records = {item_id: record for item_id in answer_ids if (record := store.get(item_id)) is not None}
    return {
        "counts": review_counts(store, pipeline, recipe),
        "decisions": len(decisions),
        "llm_scores": score_distributions(judged),
        "judge": judge_health((a.meta["scores"] for a in judged if isinstance(a.meta.get("scores"), dict)),
                              recipe.answers.rubric).as_dict(),
        "llm_vs_expert": [row for row in calibration([d for d in decisions if d.kind == "answer"], records,
                                                     rubric_dimensions(recipe)) if row["n"]],
    }
