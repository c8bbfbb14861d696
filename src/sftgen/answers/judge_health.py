"""Whether the LLM judge's scores say anything. A judge that gives every answer the same scores, or whose
reasons repeat the rubric's own wording, is not reading the answers (seen with small models: 5 / 4 / 5 for
seven answers that were only citation markers). Such a judge is flagged in `status` and the report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sftgen.dedup.normalise import shingles

MIN_ANSWERS = 10
"""Fewer scored answers than this say too little about the judge to flag it."""
ECHO_CONTAINMENT = 0.6
"""A reason of which this share of word trigrams comes from its dimension's description repeats the rubric."""
MAX_ECHO_SHARE = 0.5


@dataclass
class JudgeHealth:
    answers: int
    distinct_scores: int
    """Distinct score sets (one score per dimension) among the answers."""
    echo_share: float
    """Share of the reasons that repeat the rubric's wording."""
    common_scores: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def blind(self) -> bool:
        return bool(self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"answers": self.answers, "distinct_scores": self.distinct_scores,
                "echo_share": round(self.echo_share, 3), "blind": self.blind, "problems": self.problems}


def repeats_rubric(reason: str, description: str | set) -> bool:
    """`description` as text, or its word trigrams (computed once per dimension by `judge_health`)."""
    words = shingles(reason, 3)
    rubric = description if isinstance(description, set) else shingles(description, 3)
    return bool(words) and len(words & rubric) >= ECHO_CONTAINMENT * len(words)


def judge_health(scored: Iterable[Mapping[str, Mapping[str, Any]]], rubric: Sequence[Any]) -> JudgeHealth:
    """From each answer's `scores` ({dimension: {score, why}}) and the recipe's rubric dimensions."""
    descriptions = {dimension.name: set(shingles(dimension.description, 3)) for dimension in rubric}
    score_sets: Counter[tuple] = Counter()
    reasons = echoes = 0
    seen: dict[tuple[str, str], bool] = {}
    for scores in scored:
        score_sets[tuple((name, entry.get("score")) for name, entry in sorted(scores.items()))] += 1
        for name, entry in scores.items():
            reasons += 1
            reason = str(entry.get("why") or "")
            if (name, reason) not in seen:  # judges repeat their reasons word for word
                seen[(name, reason)] = repeats_rubric(reason, descriptions.get(name, set()))
            echoes += seen[(name, reason)]
    answers = sum(score_sets.values())
    health = JudgeHealth(answers, len(score_sets), echoes / reasons if reasons else 0.0)
    if score_sets:
        common, _ = score_sets.most_common(1)[0]
        health.common_scores = " / ".join(f"{name} {score}" for name, score in common)
    if answers < MIN_ANSWERS:
        return health
    if len(score_sets) == 1:
        health.problems.append(f"the judge gave all {answers} answers the same scores ({health.common_scores}): "
                               "its scores say nothing about them")
    if health.echo_share > MAX_ECHO_SHARE:
        health.problems.append(f"{health.echo_share:.0%} of the judge's reasons repeat the rubric's wording "
                               "instead of saying something about the answer")
    return health
