"""The texts dedup compares, and what each method needs of them, computed once and only when needed.

The anchors (prompts kept in earlier runs) come first, then the new texts. What dedup needs of an anchor
(its exact key, content words and their document frequencies, MinHash signature, embedding) is given as
`AnchorFeatures`, either computed here from the texts (`anchor_features`: a run from scratch) or loaded
from the dedup index (sftgen.dedup.index: only the anchors it has not seen are computed). Either way the
values are the same, so the decisions are too: a text's signature and embedding depend on that text
alone, whatever else is hashed or encoded with it. Embeddings are compared at float16 precision
(`as_kept`): the index keeps them as float16, so a run from scratch rounds them the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sftgen.dedup.content import content_words, document_frequency
from sftgen.dedup.normalise import normalise, shingles
from sftgen.recipe.dedup_settings import Dedup

MINHASH_SEED = 1  # fixed, so the same texts give the same candidates on every run and machine


@dataclass
class AnchorFeatures:
    keys: list[str]
    """Normalised text (exact dedup)."""
    words: list[tuple[str, ...]]
    frequency: Counter
    """In how many anchors each content word occurs."""
    signatures: np.ndarray | None = None
    """(anchors, num_perm) uint64 MinHash values; None when near dedup is off."""
    has_signature: np.ndarray | None = None
    """False for an anchor with no shingles (an empty text): it is never a near candidate."""
    vectors: np.ndarray | None = None
    """(anchors, dim) float32 embeddings (of float16 values: `as_kept`); None when semantic dedup is off."""


def as_kept(vectors: np.ndarray) -> np.ndarray:
    """Embeddings rounded to float16, as float32: what the dedup index keeps of them (half the bytes), and so
    what every comparison uses, whether the anchors come from the index or from the texts."""
    return np.asarray(vectors, dtype=np.float32).astype(np.float16).astype(np.float32)


def anchor_features(texts: Sequence[str], settings: Dedup, embedder=None) -> AnchorFeatures:
    """Everything the methods in `settings` need of these texts, computed from them."""
    words = [content_words(text) for text in texts]
    features = AnchorFeatures([normalise(text) for text in texts], words, document_frequency(words))
    if "near" in settings.methods:
        features.signatures, features.has_signature = signatures_of(texts, settings)
    if "semantic" in settings.methods:
        if embedder is None:
            raise ValueError("semantic dedup needs an embedder")
        features.vectors = as_kept(embedder.encode(list(texts)))
    return features


def signatures_of(texts: Sequence[str], settings: Dedup) -> tuple[np.ndarray, np.ndarray]:
    """MinHash values of each text's word shingles, as one (texts, num_perm) uint64 array, and which
    texts have shingles at all."""
    from datasketch import MinHash
    from datasketch.hashfunc import sha1_hash32

    shingle_sets = [shingles(text, settings.shingle_words) for text in texts]
    # Prompts share most of their shingles: hash each distinct shingle once (same sha1 as datasketch's default).
    hashes = {s: sha1_hash32(s.encode("utf-8")) for shingle_set in shingle_sets for s in shingle_set}
    minhashes = MinHash.bulk((sorted(shingle_set) for shingle_set in shingle_sets), num_perm=settings.num_perm,
                             seed=MINHASH_SEED, hashfunc=hashes.__getitem__)
    values = np.zeros((len(texts), settings.num_perm), dtype=np.uint64)
    for row, minhash in enumerate(minhashes):
        values[row] = minhash.hashvalues
    return values, np.array([bool(s) for s in shingle_sets], dtype=bool)


class Corpus:
    """`texts`: the anchors, then the new texts. `anchors`: their features (computed from the texts on
    first use when not given)."""

    def __init__(self, texts: Sequence[str], n_anchors: int, settings: Dedup, embedder=None,
                 anchors: AnchorFeatures | None = None):
        self.texts = texts
        self.n_anchors = n_anchors
        self.settings = settings
        self.embedder = embedder
        self.anchors = anchors if anchors is not None else anchor_features(texts[:n_anchors], settings, embedder)
        self.new_words = [content_words(text) for text in texts[n_anchors:]]
        self.new_keys: dict[int, str] = {}
        self.new_signatures: dict[int, np.ndarray | None] = {}
        self.new_vectors: dict[int, np.ndarray] = {}
        self.shingle_sets: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def key(self, index: int) -> str:
        if index < self.n_anchors:
            return self.anchors.keys[index]
        key = self.new_keys.get(index)
        if key is None:
            key = self.new_keys[index] = normalise(self.texts[index])
        return key

    def words(self, index: int) -> tuple[str, ...]:
        return self.anchors.words[index] if index < self.n_anchors else self.new_words[index - self.n_anchors]

    def frequency(self) -> Counter:
        """Document frequency of each content word over all texts, anchors and new."""
        return self.anchors.frequency + document_frequency(self.new_words)

    def shingles(self, index: int) -> set[str]:
        shingle_set = self.shingle_sets.get(index)
        if shingle_set is None:
            shingle_set = self.shingle_sets[index] = shingles(self.texts[index], self.settings.shingle_words)
        return shingle_set

    def signatures(self, new_indices: Sequence[int]) -> list[np.ndarray | None]:
        """The MinHash values of these new texts (None for a text with no shingles)."""
        missing = [i for i in new_indices if i not in self.new_signatures]
        if missing:
            values, has = signatures_of([self.texts[i] for i in missing], self.settings)
            for row, index in enumerate(missing):
                self.new_signatures[index] = values[row] if has[row] else None
        return [self.new_signatures[i] for i in new_indices]

    def vectors(self, indices: Sequence[int]) -> np.ndarray:
        """The embeddings of these texts, one row each, in their order."""
        if self.embedder is None:
            raise ValueError("semantic dedup needs an embedder")
        missing = [i for i in indices if i >= self.n_anchors and i not in self.new_vectors]
        if missing:
            for index, vector in zip(missing, as_kept(self.embedder.encode([self.texts[i] for i in missing]))):
                self.new_vectors[index] = vector
        anchor_rows = [i for i in indices if i < self.n_anchors]
        if anchor_rows == list(range(self.n_anchors)):
            parts = [self.anchors.vectors]  # all of them (anchors are never dropped): no copy by index
        else:
            parts = [self.anchors.vectors[anchor_rows]] if anchor_rows else []
        new = [self.new_vectors[i] for i in indices if i >= self.n_anchors]
        if new:
            parts.append(np.stack(new))
        if not parts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        vectors = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def new_features(self, index: int) -> tuple[str, tuple[str, ...], np.ndarray | None, np.ndarray | None]:
        """What the index keeps of a new text once kept: key, words, MinHash values (empty for a text with no
        shingles; None when never computed) and embedding (None when never computed)."""
        signature = self.new_signatures.get(index)
        if signature is None and index in self.new_signatures:
            signature = np.zeros(0, dtype=np.uint64)
        return self.key(index), self.words(index), signature, self.new_vectors.get(index)
