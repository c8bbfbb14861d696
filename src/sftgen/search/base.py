"""What every search backend returns: ranked hits with a URL, a title and a snippet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SearchHit:
    url: str
    title: str
    snippet: str
    rank: int
    """1 for the best hit."""
    backend: str


class SearchError(Exception):
    """A search failed as a whole (backend unreachable, bad key, bad reply). `reason` is a stable code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class SearchBackend(Protocol):
    name: str

    async def search(self, query: str, k: int, snippets: bool = True) -> list[SearchHit]:
        """The best `k` hits for `query`, best first (fewer when there are fewer). `snippets=False`: the
        caller reads no snippet, and a backend whose snippets cost work of its own may leave them empty."""
        ...

    async def aclose(self) -> None: ...


def ranked(hits: list[tuple[str, str, str]], backend: str, k: int) -> list[SearchHit]:
    """(url, title, snippet) in order -> SearchHits ranked 1..k, first occurrence of a URL wins."""
    seen: set[str] = set()
    result: list[SearchHit] = []
    for url, title, snippet in hits:
        if not url or url in seen:
            continue
        seen.add(url)
        result.append(SearchHit(url=url, title=title or url, snippet=snippet or "", rank=len(result) + 1,
                                backend=backend))
        if len(result) >= k:
            break
    return result
