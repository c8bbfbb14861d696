"""What ranking needs from a passage text, kept for the run: in the answer half the same pages come back
for many prompts (a prompt's queries share them, prompts of one subdomain find the same sources), so
their cuts, term counts and embeddings are computed once per text, not once per prompt.

Bounded, least recently used out: a project whose pages are all distinct keeps a window, not everything.
Keys are digests of the text (the texts are in the store already). One lock: ranking runs in threads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    import numpy as np

    from sftgen.retrieval.bm25 import PassageTerms


class TextEncoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...

MAX_TEXTS = 20_000
"""Per memo: 20,000 passage vectors of the 256-dimension embedder are 20 MB."""


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def folded(text: str) -> str:
    """The text with its whitespace collapsed and its case folded: two passages alike this way are one."""
    return " ".join(text.split()).casefold()


class Cut(NamedTuple):
    """One passage of a page."""

    text: str
    start: int
    key: bytes
    """`text_key(text)`."""
    fold: str
    """`folded(text)`."""
    terms: PassageTerms
    """Its BM25 term counts (`passage_terms`)."""


class PageCuts:
    """A page text's passages, and what ranking reads from all of them at once: which of them hold each term
    (their BM25 postings) and, once ranked with an encoder, their vectors as one matrix."""

    __slots__ = ("cuts", "postings", "folds", "lengths", "_vectors")

    def __init__(self, cuts: tuple[Cut, ...]):
        self.cuts = cuts
        folds = [cut.fold for cut in cuts]
        self.folds = frozenset(folds) if all(folds) and len(set(folds)) == len(folds) else None
        """The cuts' folded texts when each is one of its own and none is empty (None otherwise): a prompt
        that has seen none of them takes all the cuts at once."""
        self.lengths = [cut.terms.length for cut in cuts]
        postings: dict[str, list[tuple[int, int]]] = {}
        for local, cut in enumerate(cuts):
            for term, count in cut.terms.counts.items():
                postings.setdefault(term, []).append((local, count))
        self.postings = postings
        """term -> (the cut's position in `cuts`, the term's count in it), for the cuts that hold it."""
        self._vectors: tuple[TextEncoder, np.ndarray] | None = None

    def vectors(self, cache: PassageCache, encoder: TextEncoder) -> np.ndarray:
        """One row per cut, as `cache.vectors` gives the cuts' texts (so as `encoder.encode` gives them)."""
        held = self._vectors
        if held is None or held[0] is not encoder:
            matrix = cache.vectors([cut.text for cut in self.cuts], encoder, [cut.key for cut in self.cuts])
            held = self._vectors = (encoder, matrix)
        return held[1]


class _Memo:
    def __init__(self, limit: int):
        self.limit = limit
        self.held: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def many(self, keys: list, make: Callable[[list[int]], list]) -> list:
        """The value of each key; `make(positions)` computes the missing ones in one batch."""
        values: list = [None] * len(keys)
        missing: list[int] = []
        with self.lock:
            for position, key in enumerate(keys):
                value = self.held.get(key)
                if value is None:
                    missing.append(position)
                else:
                    self.held.move_to_end(key)
                    values[position] = value
        if missing:
            made = make(missing)
            with self.lock:
                for position, value in zip(missing, made):
                    values[position] = value
                    self.held[keys[position]] = value
                while len(self.held) > self.limit:
                    self.held.popitem(last=False)
        return values


class PassageCache:
    """The run's memo of passage cuts (per page text and cut size, each with its BM25 term counts), BM25
    term counts and embeddings (per passage text)."""

    def __init__(self, limit: int = MAX_TEXTS):
        self._cuts = _Memo(max(1, limit // 10))
        self._terms = _Memo(limit)
        self._vectors = _Memo(limit)

    def cuts(self, page_text: str, size: int, overlap: int, page_id: str = "") -> PageCuts:
        """Each passage of a page, as `split_into_chunks` cuts it, with its key and its folded text.
        `page_id`: the page record's id, when it has one (a content id: one text per id), so the page's
        text is not hashed again each time a prompt finds it."""
        return self.cuts_of_pages([page_text], size, overlap, [page_id])[0]

    def cuts_of_pages(self, page_texts: list[str], size: int, overlap: int,
                      page_ids: list[str] | None = None) -> list[PageCuts]:
        """`cuts` of each page, in one look-up of the memo (a prompt's pages are asked for together)."""
        def make(missing: list[int]) -> list:
            return [page_cuts(page_texts[i], size, overlap) for i in missing]

        ids = page_ids if page_ids is not None else [""] * len(page_texts)
        keys = [(("record", page_id) if page_id else text_key(text), size, overlap)
                for text, page_id in zip(page_texts, ids)]
        return self._cuts.many(keys, make)

    def terms(self, texts: list[str], keys: list[bytes] | None = None) -> list[PassageTerms]:
        """`keys`: the texts' `text_key`s when the caller has them (a Cut's)."""
        from sftgen.retrieval.bm25 import passage_terms

        keys = keys if keys is not None else [text_key(t) for t in texts]
        return self._terms.many(keys, lambda missing: passage_terms([texts[i] for i in missing]))

    def vectors(self, texts: list[str], encoder: TextEncoder, keys: list[bytes] | None = None) -> np.ndarray:
        """One row per text, as `encoder.encode(texts)` gives it (each row depends on its text alone)."""
        import numpy as np

        def make(missing: list[int]) -> list:
            return list(encoder.encode([texts[i] for i in missing]))

        keys = keys if keys is not None else [text_key(t) for t in texts]
        rows = self._vectors.many([(id(encoder), key) for key in keys], make)
        return np.array(rows) if rows else np.zeros((0, 0), dtype=np.float32)  # np.stack's rows, copied at once


def page_cuts(page_text: str, size: int, overlap: int) -> PageCuts:
    """A page text cut as `split_into_chunks` cuts it, each cut with its BM25 term counts."""
    from sftgen.chunking.splitter import split_into_chunks
    from sftgen.retrieval.bm25 import passage_terms

    chunks = split_into_chunks(page_text, size=size, overlap=overlap, unit="characters")
    terms = passage_terms([chunk.text for chunk in chunks])
    return PageCuts(tuple(Cut(chunk.text, chunk.start, text_key(chunk.text), folded(chunk.text), counted)
                          for chunk, counted in zip(chunks, terms)))
