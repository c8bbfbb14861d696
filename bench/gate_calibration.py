"""The embedding relevance gate as the benchmark needs it, written here until src has one (issue 16,
item 1; the src gate will replace this module and the benchmark will call that instead).

- `description_scores`: a chunk's cosine with the recipe's domain text and with each subdomain's
  "name: description" (the texts `steps/subdomains.py` embeds), from sftgen's static embedder; the
  gate's score is the maximum over the domain and its subdomains. `example_scores` is an alternative
  fitted on the labelled dev chunks (their centroids; cross-fitted on dev), printed for comparison.
- `fit_threshold`: the F1-optimal cut on labelled (dev) scores.
- `fit_band`: the uncertain band [low, high) on dev scores: at or above `high` the dev chunks are in the
  domain with precision >= `purity`, below `low` out of it with the same purity; in between the LLM is
  asked. An empty band (low >= high) means the score alone decides at the F1 threshold.
- `fit_band_share`: instead, the band around the cut that holds a given share of the dev chunks.
- `Scores`: precision, recall, F1 of keep/drop decisions against the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


def anchor_texts(domain: dict[str, Any]) -> list[str]:
    """The domain first, then each subdomain, as "name: description"."""
    def text(entry: dict[str, Any]) -> str:
        return f"{entry['name']}: {entry['description']}" if entry.get("description") else entry["name"]

    return [text(domain)] + [text(sub) for sub in domain["subdomains"]]


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


@dataclass
class Scores:
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


def cut_points(scores: np.ndarray) -> np.ndarray:
    """Midpoints between consecutive distinct scores, plus one below and one above them all."""
    values = np.unique(scores)
    middles = (values[1:] + values[:-1]) / 2
    return np.concatenate([[values[0] - 1e-6], middles, [values[-1] + 1e-6]])


def fit_threshold(scores: np.ndarray, relevant: np.ndarray) -> float:
    """The cut (keep when score >= cut) with the best F1 on these labels; ties go to the middle one."""
    cuts = cut_points(scores)
    f1 = np.array([Scores.of(scores >= cut, relevant).f1 for cut in cuts])
    best = np.flatnonzero(f1 == f1.max())
    return float(cuts[best[len(best) // 2]])


@dataclass
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


def fit_band(scores: np.ndarray, relevant: np.ndarray, purity: float, threshold: float) -> Band:
    """The narrowest band outside which the dev decisions reach `purity`; collapsed onto `threshold`
    when the two sides already meet."""
    relevant = np.asarray(relevant, dtype=bool)
    cuts = cut_points(scores)
    high = next((cut for cut in cuts if _precision_at_or_above(scores, relevant, cut) >= purity), cuts[-1])
    low = next((cut for cut in cuts[::-1] if _purity_below(scores, relevant, cut) >= purity), cuts[0])
    if low >= high:
        return Band(threshold, threshold)
    return Band(float(low), float(high))


def fit_band_share(scores: np.ndarray, threshold: float, share: float) -> Band:
    """The band around the cut that holds `share` of the dev chunks (those nearest the cut): a cap on
    the LLM requests rather than a purity goal."""
    if share <= 0:
        return Band(threshold, threshold)
    distance = np.sort(np.abs(np.asarray(scores) - threshold))
    radius = float(distance[min(len(distance) - 1, max(0, int(np.ceil(share * len(distance))) - 1))]) + 1e-9
    return Band(threshold - radius, threshold + radius)


def _precision_at_or_above(scores: np.ndarray, relevant: np.ndarray, cut: float) -> float:
    above = scores >= cut
    return float(relevant[above].mean()) if above.any() else 1.0


def _purity_below(scores: np.ndarray, relevant: np.ndarray, cut: float) -> float:
    below = scores < cut
    return float((~relevant[below]).mean()) if below.any() else 1.0
