"""The score variants the benchmark compares beside the gate's own (`sftgen.relevance`: the score, the F1
cut, the band and their figures, re-exported here for the benchmark's scripts).

- `description_scores`: a chunk's cosine with the recipe's domain text and with each subdomain's
  "name: description" (the texts `steps/subdomains.py` embeds), from sftgen's static embedder; the
  gate's score is the maximum over the domain and its subdomains. `example_scores` is an alternative
  fitted on the labelled dev chunks (their centroids; cross-fitted on dev), printed for comparison.
- `fit_threshold`, `fit_band`, `fit_band_share`, `Scores`: from `sftgen.relevance.band`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sftgen.recipe import Recipe
from sftgen.relevance.band import Band, Scores, cut_points, fit_band, fit_band_share, fit_threshold
from sftgen.relevance.score import anchor_texts as recipe_anchor_texts

__all__ = ["Band", "Scores", "anchor_texts", "cross_fitted_example_scores", "cut_points", "description_scores",
           "example_scores", "fit_band", "fit_band_share", "fit_threshold"]


def anchor_texts(domain: dict[str, Any]) -> list[str]:
    """The texts the gate compares chunks with, for a recipe's `domain:` section."""
    return recipe_anchor_texts(Recipe.model_validate({"domain": domain}))


def description_scores(anchors: np.ndarray, vectors: np.ndarray) -> dict[str, np.ndarray]:
    """Per chunk, cosine similarities with the domain's anchor vectors (rows L2-normalised, so a dot
    product is the cosine), combined in a few ways; "max" is the gate's."""
    similarities = vectors @ anchors.T
    return {
        "max": similarities.max(axis=1),
        "domain": similarities[:, 0],
        "best subdomain": similarities[:, 1:].max(axis=1),
        "mean": similarities.mean(axis=1),
    }


def example_scores(dev_vectors: np.ndarray, dev_relevant: np.ndarray, vectors: np.ndarray) -> dict[str, np.ndarray]:
    """A score that learns from the labelled dev chunks themselves, not only from the recipe's words:
    the cosine with the in-domain centroid minus that with the distractor centroid. What `sftgen
    calibrate` could fit from a labelled sample or the first reviewer decisions."""
    dev_relevant = np.asarray(dev_relevant, dtype=bool)
    centroid_in, centroid_out = dev_vectors[dev_relevant].mean(axis=0), dev_vectors[~dev_relevant].mean(axis=0)
    return {"dev centroids": vectors @ centroid_in - vectors @ centroid_out}


def cross_fitted_example_scores(dev_vectors: np.ndarray, dev_relevant: np.ndarray, folds: int = 5,
                                seed: int = 0) -> dict[str, np.ndarray]:
    """`example_scores` of the dev chunks, each from centroids of the other folds, so the cut and the
    band fitted on them are not fitted on the chunks that made the centroids."""
    dev_relevant = np.asarray(dev_relevant, dtype=bool)
    order = np.random.default_rng(seed).permutation(len(dev_vectors))
    out: dict[str, np.ndarray] = {}
    for fold in np.array_split(order, folds):
        rest = np.setdiff1d(order, fold)
        for name, values in example_scores(dev_vectors[rest], dev_relevant[rest], dev_vectors[fold]).items():
            out.setdefault(name, np.zeros(len(dev_vectors)))[fold] = values
    return out
