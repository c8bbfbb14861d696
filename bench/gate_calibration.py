"""The score variants the benchmark compares beside the gate's own (`sftgen.relevance`: the score, the F1
cut, the band and their figures, re-exported here for the benchmark's scripts).

- `description_scores`: a chunk's cosine with the recipe's domain text and with each subdomain's
  "name: description" (the texts `steps/subdomains.py` embeds), from sftgen's static embedder; the
  gate's score is the maximum over the domain and its subdomains. `example_scores` are the scores
  fitted on the labelled dev chunks (their centroids, a linear probe; cross-fitted on dev), as
  `relevance.examples` makes them (sftgen.relevance.score, sftgen.relevance.probe).
- `fit_threshold`, `fit_band`, `fit_band_share`, `Scores`: from `sftgen.relevance.band`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sftgen.recipe import Recipe
from sftgen.relevance.band import Band, Scores, cut_points, fit_band, fit_band_share, fit_threshold
from sftgen.relevance.probe import cross_fitted_probe_scores, fit_logistic, probe_scores
from sftgen.relevance.score import anchor_texts as recipe_anchor_texts
from sftgen.relevance.score import centroid_difference, cross_fitted_centroid_scores

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
    """Scores learnt from the labelled dev chunks themselves, as `relevance.examples` makes them: the
    centroids' cosine difference (`fit: centroids`) and the linear probe (`fit: probe`)."""
    weights, intercept = fit_logistic(dev_vectors, dev_relevant)
    return {"dev centroids": centroid_difference(dev_vectors, dev_relevant, vectors),
            "dev probe": probe_scores(weights, intercept, vectors)}


def cross_fitted_example_scores(dev_vectors: np.ndarray, dev_relevant: np.ndarray) -> dict[str, np.ndarray]:
    """`example_scores` of the dev chunks, each made without its fold, so the cut and the band fitted on
    them are not fitted on the chunks that made the score."""
    return {"dev centroids": cross_fitted_centroid_scores(dev_vectors, dev_relevant),
            "dev probe": cross_fitted_probe_scores(dev_vectors, dev_relevant)}
