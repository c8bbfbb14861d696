"""Fitting the relevance band on a labelled sample, with figures a user can trust: the cut and the band
are fitted on the whole sample for use, and the precision, recall and F1 printed for them are
cross-validated (each fold decided by a cut and band fitted on the other folds), so they say how the
gate does on texts it was not fitted on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sftgen.relevance.band import Band, Scores, fit_band, fit_threshold

DEFAULT_PURITY = 0.95
FOLDS = 5


@dataclass(frozen=True)
class Calibration:
    threshold: float
    """The F1-optimal cut: what the score alone would decide at."""
    band: Band
    """Outside it the score decides; inside, the LLM."""
    purity: float
    score_alone: Scores
    """Cross-validated decisions of the score alone at the cut."""
    gate_outside_band: Scores
    """Cross-validated decisions of the texts the band leaves to the score."""
    in_band: list[int]
    """Indexes of the texts that fall in the band fitted on the other folds (those the LLM would see)."""
    kept_by_score: list[int]
    """Indexes the score keeps on its own (cross-validated)."""


def calibrate(scores: Sequence[float], relevant: Sequence[bool], purity: float = DEFAULT_PURITY,
              folds: int = FOLDS, seed: int = 0) -> Calibration:
    scores, relevant = np.asarray(scores, dtype=np.float64), np.asarray(relevant, dtype=bool)
    threshold = fit_threshold(scores, relevant)
    band = fit_band(scores, relevant, purity, threshold)
    alone = np.zeros(len(scores), dtype=bool)
    decision: list[bool | None] = [None] * len(scores)
    order = np.random.default_rng(seed).permutation(len(scores))
    for fold in np.array_split(order, min(folds, len(scores))):
        rest = np.setdiff1d(order, fold)
        if len(rest) == 0 or len(set(relevant[rest])) < 2:
            fold_threshold, fold_band = threshold, band
        else:
            fold_threshold = fit_threshold(scores[rest], relevant[rest])
            fold_band = fit_band(scores[rest], relevant[rest], purity, fold_threshold)
        for index in fold:
            alone[index] = scores[index] >= fold_threshold
            decision[index] = fold_band.decide(float(scores[index]))
    decided = [i for i, d in enumerate(decision) if d is not None]
    return Calibration(
        threshold=threshold, band=band, purity=purity,
        score_alone=Scores.of(alone, relevant),
        gate_outside_band=Scores.of([decision[i] for i in decided], relevant[decided]),
        in_band=[i for i, d in enumerate(decision) if d is None],
        kept_by_score=[i for i, d in enumerate(decision) if d is True],
    )


def gate_with_llm(calibration: Calibration, relevant: Sequence[bool], llm_keeps: Callable[[int], bool]) -> Scores:
    """The decisions of score and LLM together: the score's outside the band, the LLM's inside."""
    in_band = set(calibration.in_band)
    kept = [llm_keeps(i) if i in in_band else i in calibration.kept_by_score for i in range(len(relevant))]
    return Scores.of(kept, relevant)
