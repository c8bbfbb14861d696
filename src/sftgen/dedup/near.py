"""Near-duplicates: MinHash signatures of word shingles, candidates from an LSH index (datasketch),
confirmed by the exact Jaccard similarity of the shingle sets (which is the similarity recorded); a
candidate with other numbers is never a near-duplicate ("in 7 years" is not "in 8 years"), and with
`content_check` a candidate must not have swapped a content word for another (sftgen.dedup.content):
shingles already say the texts are nearly the same, so a word added on one side is allowed."""

from __future__ import annotations

from collections.abc import Sequence

from sftgen.dedup.content import numbers_in
from sftgen.dedup.normalise import jaccard, shingles
from sftgen.recipe.dedup_settings import Dedup

MINHASH_SEED = 1  # fixed, so the same texts give the same candidates on every run and machine


def near_duplicates(
    texts: Sequence[str], alive: list[int], n_anchors: int, settings: Dedup, agreement=None
) -> dict[int, tuple[int, float]]:
    from datasketch import MinHash, MinHashLSH
    from datasketch.hashfunc import sha1_hash32

    shingle_sets = [shingles(texts[i], settings.shingle_words) for i in alive]
    # Prompts share most of their shingles: hash each distinct shingle once (same sha1 as datasketch's default).
    hashes = {s: sha1_hash32(s.encode("utf-8")) for shingle_set in shingle_sets for s in shingle_set}
    signatures = MinHash.bulk(
        (sorted(shingle_set) for shingle_set in shingle_sets),
        num_perm=settings.num_perm,
        seed=MINHASH_SEED,
        hashfunc=hashes.__getitem__,
    )
    numbers = [numbers_in(texts[i]) for i in alive]
    lsh = MinHashLSH(threshold=settings.near_threshold, num_perm=settings.num_perm)
    found: dict[int, tuple[int, float]] = {}
    for position, (index, shingle_set, signature) in enumerate(zip(alive, shingle_sets, signatures)):
        if not shingle_set:
            continue  # nothing to compare; exact dedup handles empty texts
        if index >= n_anchors:
            candidates = lsh.query(signature)
            candidates = [c for c in candidates if numbers[c] == numbers[position]]
            if agreement is not None:
                candidates = [c for c in candidates if agreement(index, alive[c], substitutions_only=True)
                              >= settings.content_threshold]
            best = best_match(position, shingle_set, candidates, shingle_sets, settings.near_threshold)
            if best is not None:
                found[index] = (alive[best[0]], best[1])
                continue
        lsh.insert(position, signature, check_duplication=False)
    return found


def best_match(position, shingle_set, candidates, shingle_sets, threshold) -> tuple[int, float] | None:
    """The most similar kept candidate at or above the threshold; ties go to the earliest."""
    best: tuple[int, float] | None = None
    for candidate in sorted(candidates):
        if candidate >= position:
            continue
        similarity = jaccard(shingle_set, shingle_sets[candidate])
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (candidate, similarity)
    return best
