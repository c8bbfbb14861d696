"""Keep/drop cuts on relevance scores, fitted on labelled scores.

- `fit_threshold`: the F1-optimal cut (keep when score >= cut).
- `fit_band`: the uncertain band [low, high): at or above `high` the labelled texts are in the domain with
  precision >= `purity`, below `low` out of it with the same purity; in between the LLM is asked. A band that
  collapses (low >= high) means the score alone decides at the F1 cut.
- `fit_band_share`: the band around the cut holding a given share of the texts: a cap on requests instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    """Keep/drop decisions against labels."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, kept: Sequence[bool], relevant: Sequence[bool]) -> Scores:
        kept, relevant = np.asarray(kept, dtype=bool), np.asarray(relevant, dtype=bool)
        return cls(int((kept & relevant).sum()), int((kept & ~relevant).sum()),
                   int((~kept & relevant).sum()), int((~kept & ~relevant).sum()))

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return (f"precision {self.precision:.2f}  recall {self.recall:.2f}  F1 {self.f1:.2f}  "
                f"(kept {self.tp + self.fp}: {self.tp} in domain, {self.fp} not; missed {self.fn})")


@dataclass(frozen=True)
class Band:
    low: float
    high: float

    @property
    def empty(self) -> bool:
        return self.low >= self.high

    def decide(self, score: float) -> bool | None:
        """True keep, False drop, None: uncertain, ask the LLM."""
        if score >= self.high:
            return True
        if score < self.low:
            return False
        return None


def cut_points(scores: Sequence[float]) -> np.ndarray:
    """Midpoints between consecutive distinct scores, plus one below and one above them all."""
    values = np.unique(np.asarray(scores, dtype=np.float64))
    middles = (values[1:] + values[:-1]) / 2
    return np.concatenate([[values[0] - 1e-6], middles, [values[-1] + 1e-6]])


def fit_threshold(scores: Sequence[float], relevant: Sequence[bool]) -> float:
    """The cut with the best F1 on these labels; ties go to the middle one."""
    scores = np.asarray(scores, dtype=np.float64)
    cuts = cut_points(scores)
    f1 = np.array([Scores.of(scores >= cut, relevant).f1 for cut in cuts])
    best = np.flatnonzero(f1 == f1.max())
    return float(cuts[best[len(best) // 2]])


def fit_band(scores: Sequence[float], relevant: Sequence[bool], purity: float, threshold: float) -> Band:
    """The narrowest band outside which the labelled decisions reach `purity`; collapsed onto `threshold`
    when the two sides already meet."""
    scores, relevant = np.asarray(scores, dtype=np.float64), np.asarray(relevant, dtype=bool)
    cuts = cut_points(scores)
    high = next((cut for cut in cuts if _precision_at_or_above(scores, relevant, cut) >= purity), cuts[-1])
    low = next((cut for cut in cuts[::-1] if _purity_below(scores, relevant, cut) >= purity), cuts[0])
    if low >= high:
        return Band(threshold, threshold)
    return Band(float(low), float(high))


def fit_band_share(scores: Sequence[float], threshold: float, share: float) -> Band:
    """The band around the cut that holds `share` of the texts (those nearest the cut)."""
    if share <= 0:
        return Band(threshold, threshold)
    distance = np.sort(np.abs(np.asarray(scores, dtype=np.float64) - threshold))
    radius = float(distance[min(len(distance) - 1, max(0, int(np.ceil(share * len(distance))) - 1))]) + 1e-9
    return Band(threshold - radius, threshold + radius)


def _precision_at_or_above(scores: np.ndarray, relevant: np.ndarray, cut: float) -> float:
    above = scores >= cut
    return float(relevant[above].mean()) if above.any() else 1.0


def _purity_below(scores: np.ndarray, relevant: np.ndarray, cut: float) -> float:
    below = scores < cut
    return float((~relevant[below]).mean()) if below.any() else 1.0
