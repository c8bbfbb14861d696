"""Near-duplicate pages: MinHash over word 5-grams, looked up in an LSH index of the documents seen."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # datasketch (and scipy under it) loads when an index is made, not with the pipeline
    from datasketch import MinHash

NUM_PERM = 64
SHINGLE_WORDS = 5
WORD = re.compile(r"\w+", re.UNICODE)


def minhash_of(text: str) -> MinHash:
    words = WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    from datasketch import MinHash

    signature = MinHash(num_perm=NUM_PERM)
    signature.update_batch([s.encode("utf-8") for s in shingles])
    return signature


class NearDuplicateIndex:
    def __init__(self, threshold: float):
        from datasketch import MinHashLSH

        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.signatures: dict[str, MinHash] = {}
        self.threshold = threshold

    def add(self, key: str, text: str, signature: MinHash | None = None) -> None:
        if key not in self.signatures:
            signature = signature or minhash_of(text)
            self.signatures[key] = signature
            self.lsh.insert(key, signature)

    def check_and_add(self, key: str, text: str) -> tuple[str, float] | None:
        """`duplicate_of`, and when the text is new, `add` it (its MinHash computed once)."""
        signature = minhash_of(text)
        duplicate = self.duplicate_of(key, text, signature)
        if duplicate is None:
            self.add(key, text, signature)
        return duplicate

    def duplicate_of(self, key: str, text: str, signature: MinHash | None = None) -> tuple[str, float] | None:
        """(the key of a document this text nearly repeats, estimated Jaccard similarity), or None.
        A document is never its own duplicate (`key` is left out)."""
        signature = signature or minhash_of(text)
        best: tuple[str, float] | None = None
        for other in self.lsh.query(signature):
            if other == key:
                continue
            similarity = signature.jaccard(self.signatures[other])
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (other, similarity)
        return best
