"""Agreement between reviewers (Cohen's kappa on accept/reject; Pearson and Spearman on rubric scores) and
calibration of the LLM judge against experts (per rubric dimension), from the decisions in the store."""

from __future__ import annotations

from itertools import combinations

from sftgen.records import Record
from sftgen.decisions.log import Decision
from sftgen.decisions.policy import llm_scores

MIN_PAIRS = 2


def cohen_kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None with fewer than 2 items. When both raters
    use one and the same label throughout, agreement is perfect and kappa is 1."""
    if len(first) != len(second) or len(first) < MIN_PAIRS:
        return None
    labels = sorted(set(first) | set(second))
    observed = sum(a == b for a, b in zip(first, second)) / len(first)
    expected = sum((first.count(label) / len(first)) * (second.count(label) / len(second)) for label in labels)
    if expected == 1:
        return 1.0
    return (observed - expected) / (1 - expected)


def pearson(x: list[float], y: list[float]) -> float | None:
    if len(x) != len(y) or len(x) < MIN_PAIRS:
        return None
    import numpy as np  # the stats page only: not on the review server's start

    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.std() == 0 or b.std() == 0:
        return None  # undefined when one side never varies
    return float(np.corrcoef(a, b)[0, 1])


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties get their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(x: list[float], y: list[float]) -> float | None:
    if len(x) != len(y) or len(x) < MIN_PAIRS:
        return None
    return pearson(ranks(x), ranks(y))


def latest_per_reviewer(decisions: list[Decision]) -> dict[str, dict[str, Decision]]:
    """item id -> reviewer -> that reviewer's latest decision on it."""
    latest: dict[str, dict[str, Decision]] = {}
    for decision in sorted(decisions, key=lambda d: d.seq):
        latest.setdefault(decision.item_id, {})[decision.reviewer] = decision
    return latest


def reviewer_agreement(decisions: list[Decision]) -> list[dict]:
    """For every pair of reviewers with items in common: n, kappa on accept/reject, and per score
    dimension Pearson and Spearman."""
    latest = latest_per_reviewer(decisions)
    reviewers = sorted({decision.reviewer for decision in decisions})
    pairs = []
    for first, second in combinations(reviewers, 2):
        shared = [by_reviewer for by_reviewer in latest.values() if first in by_reviewer and second in by_reviewer]
        if not shared:
            continue
        entry = {
            "reviewers": [first, second],
            "items": len(shared),
            "kappa": cohen_kappa([s[first].verdict for s in shared], [s[second].verdict for s in shared]),
            "agree": sum(s[first].verdict == s[second].verdict for s in shared),
            "scores": {},
        }
        dimensions = sorted({d for s in shared for d in s[first].scores if d in s[second].scores})
        for dimension in dimensions:
            both = [s for s in shared if dimension in s[first].scores and dimension in s[second].scores]
            x = [s[first].scores[dimension] for s in both]
            y = [s[second].scores[dimension] for s in both]
            entry["scores"][dimension] = {"n": len(x), "pearson": pearson(x, y), "spearman": spearman(x, y)}
        pairs.append(entry)
    return pairs


def calibration(decisions: list[Decision], records: dict[str, Record], dimensions: list[str]) -> list[dict]:
    """Per rubric dimension: how the LLM judge's score (in the item's meta) agrees with the experts' mean
    score: n, Pearson, Spearman, mean absolute difference and mean signed difference (LLM minus expert)."""
    expert: dict[str, dict[str, list[int]]] = {}
    for by_reviewer in latest_per_reviewer(decisions).values():
        for decision in by_reviewer.values():
            for dimension, score in decision.scores.items():
                expert.setdefault(dimension, {}).setdefault(decision.item_id, []).append(score)
    rows = []
    for dimension in dimensions + sorted(set(expert) - set(dimensions)):
        llm, human = [], []
        for item_id, scores in expert.get(dimension, {}).items():
            record = records.get(item_id)
            judged = llm_scores(record).get(dimension) if record else None
            if judged is not None:
                llm.append(judged)
                human.append(sum(scores) / len(scores))
        differences = [a - b for a, b in zip(llm, human)]
        rows.append({
            "dimension": dimension,
            "n": len(llm),
            "pearson": pearson(llm, human),
            "spearman": spearman(llm, human),
            "mean_abs_diff": round(sum(abs(d) for d in differences) / len(differences), 3) if differences else None,
            "mean_diff": round(sum(differences) / len(differences), 3) if differences else None,
        })
    return rows
