"""Near-duplicate pages: MinHash over word 5-grams, looked up in an LSH index of the documents seen.

A signature reads at most `MAX_TEXT_CHARS` characters of a document (its beginning: where copies of
one page agree), so a 40 MB document costs what a long article does. It is computed once per document
and kept in the document's meta (`near_signature`, with the parameters it was made with), so later
runs load it instead of hashing every document again.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # datasketch (and scipy under it) loads when an index is made, not with the pipeline
    from datasketch import MinHash

NUM_PERM = 64
SHINGLE_WORDS = 5
MAX_TEXT_CHARS = 100_000
WORD = re.compile(r"\w+", re.UNICODE)
SIGNATURE_KEY = "near_signature"


@lru_cache(maxsize=1)
def hash_scheme() -> str | None:
    """datasketch's hashing scheme (2.0 and later name it; values of another scheme are not comparable)."""
    from datasketch import MinHash

    return getattr(MinHash(num_perm=1), "scheme", None)


def signature_format() -> str:
    """Part of every stored signature: one made with other parameters is not used (it is made again)."""
    return f"minhash1-p{NUM_PERM}-w{SHINGLE_WORDS}-c{MAX_TEXT_CHARS}-{hash_scheme() or 'legacy'}"


def bounded(text: str) -> str:
    """The part of a document its signature is made from."""
    return text[:MAX_TEXT_CHARS]


def minhash_of(text: str) -> MinHash:
    words = WORD.findall(bounded(text).lower())
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    from datasketch import MinHash

    signature = MinHash(num_perm=NUM_PERM)
    signature.update_batch([s.encode("utf-8") for s in shingles])
    return signature


def encode_signature(signature: MinHash) -> str:
    import numpy as np

    values = np.asarray(signature.hashvalues, dtype="<u8").tobytes()
    return f"{signature_format()}:{base64.b64encode(values).decode('ascii')}"


def decode_signature(value: object) -> MinHash | None:
    """The signature stored by `encode_signature`, or None when there is none of the current format."""
    prefix = signature_format() + ":"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    import numpy as np
    from datasketch import MinHash

    try:
        values = np.frombuffer(base64.b64decode(value[len(prefix):], validate=True), dtype="<u8")
    except ValueError:
        return None
    if len(values) != NUM_PERM:
        return None
    scheme = {"scheme": hash_scheme()} if hash_scheme() else {}
    return MinHash(num_perm=NUM_PERM, hashvalues=values.astype(np.uint64), **scheme)


class NearDuplicateIndex:
    def __init__(self, threshold: float):
        from datasketch import MinHashLSH

        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.signatures: dict[str, MinHash] = {}
        self.threshold = threshold

    def add(self, key: str, text: str | None = None, signature: MinHash | None = None) -> None:
        if key not in self.signatures:
            signature = signature or minhash_of(text or "")
            self.signatures[key] = signature
            self.lsh.insert(key, signature)

    def check_and_add(self, key: str, text: str | None = None,
                      signature: MinHash | None = None) -> tuple[str, float] | None:
        """`duplicate_of`, and when the text is new, `add` it (its MinHash computed once)."""
        signature = signature or minhash_of(text or "")
        duplicate = self.duplicate_of(key, text, signature)
        if duplicate is None:
            self.add(key, text, signature)
        return duplicate

    def duplicate_of(self, key: str, text: str | None = None,
                     signature: MinHash | None = None) -> tuple[str, float] | None:
        """(the key of a document this text nearly repeats, estimated Jaccard similarity), or None.
        A document is never its own duplicate (`key` is left out)."""
        signature = signature or minhash_of(text or "")
        best: tuple[str, float] | None = None
        for other in self.lsh.query(signature):
            if other == key:
                continue
            similarity = signature.jaccard(self.signatures[other])
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (other, similarity)
        return best
