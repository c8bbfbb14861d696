"""A prompt's candidate passages: every passage of every page found for it, in page order, a text seen
before (whitespace and case folded: the same page found by two queries, a passage two pages share) left
out. Each page's cuts come from the run's passage cache; the set keeps, per page, where its cuts sit among
the candidates, so the ranking reads a page's term postings and vectors once, not once per passage."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, overload

from sftgen.retrieval.passage_cache import PageCuts, PassageCache

if TYPE_CHECKING:
    import numpy as np

    from sftgen.records import Record
    from sftgen.retrieval.bm25 import PassageTerms
    from sftgen.retrieval.passage_cache import TextEncoder


class Candidate(NamedTuple):
    text: str
    page: Record
    start: int
    key: bytes
    """`text_key(text)`: its key in the passage cache."""
    terms: PassageTerms


class CandidateSet(Sequence[Candidate]):
    def __init__(self) -> None:
        self.items: list[Candidate] = []
        self.pages: list[tuple[PageCuts, list[int]]] = []
        """Each page with a candidate: its cuts, and per cut its position among the candidates (-1: left out)."""
        self.lengths: list[int] = []
        """Each candidate's BM25 token count."""

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...
    def __getitem__(self, index):
        return self.items[index]

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.items)

    def vectors(self, cache: PassageCache, encoder: TextEncoder) -> np.ndarray:
        """One row per candidate, as `cache.vectors` gives their texts: each page's rows, taken at once."""
        import numpy as np

        parts = []
        for page, positions in self.pages:
            matrix = page.vectors(cache, encoder)
            chosen = [local for local, position in enumerate(positions) if position >= 0]
            parts.append(matrix if len(chosen) == len(positions) else matrix[chosen])
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def candidate_set(pages: Sequence[Record], size: int, overlap: int, cache: PassageCache | None = None) -> CandidateSet:
    """The candidates of these pages, cut `size` characters long with `overlap` (`cache` keeps each page's
    cuts for the run)."""
    cache = cache if cache is not None else PassageCache()
    found = CandidateSet()
    items, lengths = found.items, found.lengths
    seen: set[str] = set()
    pages_cut: set[str] = set()
    for page in pages:
        if page.id in pages_cut:  # found by another query of this prompt: its passages are in already
            continue
        pages_cut.add(page.id)
        cuts = cache.cuts(page.text, size, overlap, page.id)
        positions = []
        for cut in cuts.cuts:
            if cut.fold and cut.fold not in seen:
                seen.add(cut.fold)
                positions.append(len(items))
                items.append(Candidate(cut.text, page, cut.start, cut.key, cut.terms))
                lengths.append(cut.terms.length)
            else:
                positions.append(-1)
        if len(positions) > positions.count(-1):
            found.pages.append((cuts, positions))
    return found
