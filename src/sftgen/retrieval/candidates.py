"""A prompt's candidate passages: every passage of every page found for it, in page order, a text seen
before (whitespace and case folded: the same page found by two queries, a passage two pages share) left
out. Each page's cuts come from the run's passage cache; the set keeps, per page, where its cuts sit among
the candidates, so the ranking reads a page's term postings and vectors once, not once per passage."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, overload

from sftgen.retrieval.passage_cache import Cut, PageCuts, PassageCache

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
        self.cuts: list[Cut] = []
        self.page_of: list[Record] = []
        """Each candidate's cut and page."""
        self.pages: list[tuple[PageCuts, list[int]]] = []
        """Each page with a candidate: its cuts, and per cut its position among the candidates (-1: left out)."""
        self.lengths: list[int] = []
        """Each candidate's BM25 token count."""

    def __len__(self) -> int:
        return len(self.cuts)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        cut = self.cuts[index]
        return Candidate(cut.text, self.page_of[index], cut.start, cut.key, cut.terms)

    def __iter__(self) -> Iterator[Candidate]:
        for cut, page in zip(self.cuts, self.page_of):
            yield Candidate(cut.text, page, cut.start, cut.key, cut.terms)

    def vectors(self, cache: PassageCache, encoder: TextEncoder) -> np.ndarray:
        """One row per candidate, as `cache.vectors` gives their texts: each page's rows, taken at once."""
        import numpy as np

        parts = []
        for page, positions in self.pages:
            matrix = page.vectors(cache, encoder)
            if positions[0] >= 0 and positions[-1] - positions[0] == len(positions) - 1:  # all of its cuts (in a row)
                parts.append(matrix)
            else:
                parts.append(matrix[[local for local, position in enumerate(positions) if position >= 0]])
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def candidate_set(pages: Sequence[Record], size: int, overlap: int, cache: PassageCache | None = None) -> CandidateSet:
    """The candidates of these pages, cut `size` characters long with `overlap` (`cache` keeps each page's
    cuts for the run)."""
    cache = cache if cache is not None else PassageCache()
    found = CandidateSet()
    chosen, page_of, lengths = found.cuts, found.page_of, found.lengths
    seen: set[str] = set()
    distinct: dict[str, Record] = {}
    for page in pages:
        distinct.setdefault(page.id, page)  # found by another query of this prompt: its passages are in already
    ordered = list(distinct.values())
    for page, cuts in zip(ordered, cache.cuts_of_pages([page.text for page in ordered], size, overlap, list(distinct))):
        if not cuts.cuts:
            continue
        if cuts.folds is not None and seen.isdisjoint(cuts.folds):  # every cut is new: all at once
            seen |= cuts.folds
            count = len(cuts.cuts)
            found.pages.append((cuts, list(range(len(chosen), len(chosen) + count))))
            chosen.extend(cuts.cuts)
            page_of.extend([page] * count)
            lengths.extend(cuts.lengths)
            continue
        positions = []
        for cut in cuts.cuts:
            if cut.fold and cut.fold not in seen:
                seen.add(cut.fold)
                positions.append(len(chosen))
                chosen.append(cut)
                page_of.append(page)
                lengths.append(cut.terms.length)
            else:
                positions.append(-1)
        if len(positions) > positions.count(-1):
            found.pages.append((cuts, positions))
    return found
