"""Which items go to human reviewers: all of them, a stable random sample, or the ones the LLM judge is
unsure about (mean rubric score inside `review.uncertain_band`, flagged `needs_review`, or not scored)."""

from __future__ import annotations

from sftgen.recipe.review_settings import Review
from sftgen.records import Record, stable_hash


def llm_scores(record: Record) -> dict[str, float]:
    """The LLM judge's rubric scores in the record's meta (`scores: {dimension: {score, why}}`)."""
    scores = record.meta.get("scores")
    if not isinstance(scores, dict):
        return {}
    found = {}
    for dimension, value in scores.items():
        score = value.get("score") if isinstance(value, dict) else value
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            found[dimension] = float(score)
    return found


def in_sample(record_id: str, rate: float) -> bool:
    """A stable coin flip per item: the same items are sampled on every server start."""
    return int(stable_hash("review-sample", record_id, length=8), 16) / 2**64 < rate


def in_queue(record: Record, review: Review) -> bool:
    if record.kind not in review.kinds:
        return False
    if review.policy == "all":
        return True
    if review.policy == "sample":
        return in_sample(record.id, review.sample_rate)
    if record.meta.get("needs_review"):
        return True
    scores = llm_scores(record)
    if not scores:
        return True
    low, high = review.uncertain_band
    return low <= sum(scores.values()) / len(scores) <= high
