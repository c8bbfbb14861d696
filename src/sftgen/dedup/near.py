"""Near-duplicates: MinHash signatures of word shingles, candidates from LSH bands, confirmed by the exact
Jaccard similarity of the shingle sets (which is the similarity recorded); a candidate with other numbers
is never a near-duplicate ("in 7 years" is not "in 8 years"), and with `content_check` a candidate must not
have swapped a content word for another (sftgen.dedup.content): shingles already say the texts are nearly
the same, so a word added on one side is allowed.

The bands are datasketch's MinHashLSH's (its number of bands and rows for the threshold and num_perm), and
a candidate is what MinHashLSH.query returns: a kept text that shares all the values of at least one band.
The anchors' bands are sorted arrays built from their stored signatures in one pass, so checking a thousand
new texts against twenty thousand kept ones reads no anchor text but the candidates'."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sftgen.dedup.content import numbers_of
from sftgen.dedup.normalise import jaccard
from sftgen.recipe.dedup_settings import Dedup

_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
                dtype=np.uint64)


def near_duplicates(corpus, alive: list[int], settings: Dedup, agreement=None) -> dict[int, tuple[int, float]]:
    n_anchors = corpus.n_anchors
    new = [i for i in alive if i >= n_anchors]
    if not new:
        return {}
    bands = Bands(settings)
    anchors = corpus.anchors
    alive_anchors = np.array([i for i in alive if i < n_anchors], dtype=np.int64)
    if len(alive_anchors):
        alive_anchors = alive_anchors[anchors.has_signature[alive_anchors]]
        bands.add_anchors(alive_anchors, anchors.signatures[alive_anchors])
    signatures = corpus.signatures(new)
    with_shingles = [(i, s) for i, s in zip(new, signatures) if s is not None]
    values = np.array([s for _, s in with_shingles], dtype=np.uint64).reshape(len(with_shingles), settings.num_perm)
    anchor_candidates = bands.anchor_matches(values)
    shared = bands.shared_among(values)
    if agreement is not None:  # the words of every text that may be compared, encoded in one call
        agreement.prepare({i for i, _ in with_shingles}.union(*anchor_candidates))
    found: dict[int, tuple[int, float]] = {}
    for (index, signature), from_anchors, sharing in zip(with_shingles, anchor_candidates, shared.tolist()):
        # Nothing to compare for a text with no shingles: exact dedup handles empty texts.
        if not from_anchors and not sharing:  # no candidate now, and never one for a later text
            continue
        candidates = from_anchors | bands.new_matches(signature)
        numbers = numbers_of(corpus.words(index))
        candidates = [c for c in candidates if numbers_of(corpus.words(c)) == numbers]
        if agreement is not None:
            candidates = [c for c in candidates if agreement(index, c, substitutions_only=True)
                          >= settings.content_threshold]
        best = best_match(index, corpus, candidates, settings.near_threshold)
        if best is not None:
            found[index] = best
            continue
        bands.add_new(index, signature)
    return found


def best_match(index: int, corpus, candidates: Sequence[int], threshold: float) -> tuple[int, float] | None:
    """The most similar kept candidate at or above the threshold; ties go to the earliest."""
    best: tuple[int, float] | None = None
    shingle_set = corpus.shingles(index)
    for candidate in sorted(candidates):
        if candidate >= index:
            continue
        similarity = jaccard(shingle_set, corpus.shingles(candidate))
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (candidate, similarity)
    return best


class Bands:
    """LSH bands: the anchors' as sorted (band hash, text) arrays, the new texts kept so far in dicts. A band
    hash only narrows the search; a match is a band whose values are all equal."""

    def __init__(self, settings: Dedup):
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=settings.near_threshold, num_perm=settings.num_perm)
        self.ranges = [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]
        self.mix = np.resize(_MIX, lsh.r) | np.arange(1, 2 * lsh.r, 2, dtype=np.uint64)  # odd multipliers
        self.anchor_ids = np.zeros(0, dtype=np.int64)
        self.anchor_values = np.zeros((0, settings.num_perm), dtype=np.uint64)
        self.sorted: list[tuple[np.ndarray, np.ndarray]] = []
        self.new: list[dict[bytes, list[int]]] = [{} for _ in self.ranges]

    def band_hashes(self, values: np.ndarray, start: int, end: int) -> np.ndarray:
        return (values[:, start:end] * self.mix).sum(axis=1, dtype=np.uint64)  # wraps modulo 2**64

    def add_anchors(self, ids: np.ndarray, values: np.ndarray) -> None:
        self.anchor_ids, self.anchor_values = ids, values
        for start, end in self.ranges:
            hashes = self.band_hashes(values, start, end)
            order = np.argsort(hashes, kind="stable")
            self.sorted.append((hashes[order], order))

    def anchor_matches(self, queries: np.ndarray) -> list[set[int]]:
        """For each query row, the anchors sharing one of its bands."""
        matches: list[set[int]] = [set() for _ in range(len(queries))]
        if not len(self.anchor_ids) or not len(queries):
            return matches
        for (start, end), (hashes, order) in zip(self.ranges, self.sorted):
            wanted = self.band_hashes(queries, start, end)
            lows, highs = np.searchsorted(hashes, wanted, "left"), np.searchsorted(hashes, wanted, "right")
            for row in np.nonzero(highs > lows)[0]:
                rows = order[lows[row]:highs[row]]
                same = (self.anchor_values[rows, start:end] == queries[row, start:end]).all(axis=1)
                matches[row].update(self.anchor_ids[rows[same]].tolist())
        return matches

    def shared_among(self, queries: np.ndarray) -> np.ndarray:
        """For each query row, whether another row has the same hash in one of the bands (a row without can
        match no other row, nor be matched)."""
        shared = np.zeros(len(queries), dtype=bool)
        for start, end in self.ranges:
            hashes = self.band_hashes(queries, start, end)
            _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
            shared |= counts[inverse.reshape(-1)] > 1
        return shared

    def new_matches(self, signature: np.ndarray) -> set[int]:
        found: set[int] = set()
        for (start, end), table in zip(self.ranges, self.new):
            found.update(table.get(signature[start:end].tobytes(), ()))
        return found

    def add_new(self, index: int, signature: np.ndarray) -> None:
        for (start, end), table in zip(self.ranges, self.new):
            table.setdefault(signature[start:end].tobytes(), []).append(index)
