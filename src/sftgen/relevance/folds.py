"""Scores of a labelled sample made without each text's own fold: the calibration fits a band on them, so
the band is not fitted on the texts that made the score."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

FoldScorer = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""(train vectors, their labels, vectors to score) -> scores."""


def cross_fitted(vectors: np.ndarray, relevant: Sequence[bool], score: FoldScorer, folds: int = 5,
                 seed: int = 0) -> np.ndarray:
    """Each vector scored by `score` trained on the other folds (on all of them when the other folds hold
    one label only)."""
    labels = np.asarray(relevant, dtype=bool)
    scores = np.zeros(len(labels))
    order = np.random.default_rng(seed).permutation(len(labels))
    for fold in np.array_split(order, min(folds, len(labels))):
        rest = np.setdiff1d(order, fold)
        if not labels[rest].any() or labels[rest].all():
            rest = order
        scores[fold] = score(vectors[rest], labels[rest], vectors[fold])
    return scores
