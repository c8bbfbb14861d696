"""Split a document's text into overlapping chunks.

semantic-text-splitter picks the cut points (paragraphs, then sentences, then words; a
word is cut only when it alone is longer than the chunk). Its own `overlap` is
opportunistic: it repeats only whole units of the current level that fit, so between
sentence-sized pieces there is usually no overlap at all. We therefore cut at
`size - overlap` without its overlap, and then begin each chunk up to `overlap` units
earlier, at a word start inside the previous chunk. Every chunk stays within `size`;
a chunk that its successor then covers whole is dropped.

In markdown, the overlap does not reach back across a heading: a chunk that begins a
section begins with its heading, and the heading path at `start` is the chunk's section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from semantic_text_splitter import MarkdownSplitter, TextSplitter

from sftgen.chunking.markdown_headings import HeadingIndex
from sftgen.chunking.token_estimate import estimate_tokens

SizeUnit = Literal["characters", "tokens"]
SIZE_UNITS = ("characters", "tokens")

_WORD_START = re.compile(r"(?<!\S)\S")


@dataclass
class Chunk:
    """A piece of a document: `text == document_text[start:end]` (offsets in characters)."""

    text: str
    index: int
    start: int
    end: int
    heading_path: list[str] = field(default_factory=list)


def split_into_chunks(
    text: str, *, size: int, overlap: int, unit: SizeUnit = "characters", markdown: bool = False
) -> list[Chunk]:
    """Split text into chunks of at most `size` units, consecutive ones sharing up to `overlap`.

    `unit="tokens"` counts with sftgen.chunking.token_estimate.estimate_tokens (offline,
    no tokenizer download). Chunks are trimmed of surrounding whitespace. `markdown=True`
    splits at markdown structure first and fills `heading_path`; plain text gets [].
    """
    _validate(size, overlap, unit)
    if not text.strip():
        return []
    measure = _measure_for(unit)
    spans = _semantic_spans(text, size - overlap, measure, markdown)
    headings = HeadingIndex(text) if markdown else None
    if overlap:
        spans = _without_contained(_with_overlap(text, spans, overlap, measure, headings))
    return [
        Chunk(
            text=text[start:end],
            index=index,
            start=start,
            end=end,
            heading_path=headings.path_at(start) if headings else [],
        )
        for index, (start, end) in enumerate(spans)
    ]


def _validate(size: int, overlap: int, unit: str) -> None:
    if not _is_int(size) or size <= 0:
        raise ValueError(f"chunk size must be a positive integer, got {size!r}")
    if not _is_int(overlap) or not 0 <= overlap < size:
        raise ValueError(
            f"chunk overlap must be an integer with 0 <= overlap < size ({size}), got {overlap!r}"
        )
    if unit not in SIZE_UNITS:
        raise ValueError(f"chunk unit must be one of {SIZE_UNITS}, got {unit!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _measure_for(unit: SizeUnit) -> Callable[[str], int]:
    return estimate_tokens if unit == "tokens" else len


def _semantic_spans(
    text: str, capacity: int, measure: Callable[[str], int], markdown: bool
) -> list[tuple[int, int]]:
    splitter_type = MarkdownSplitter if markdown else TextSplitter
    if measure is len:
        splitter = splitter_type(capacity)
    else:
        splitter = splitter_type.from_callback(measure, capacity)
    # semantic-text-splitter >= 0.13 gives character offsets (not UTF-8 byte offsets).
    return [(start, start + len(piece)) for start, piece in splitter.chunk_indices(text)]


def _with_overlap(
    text: str,
    spans: list[tuple[int, int]],
    overlap: int,
    measure: Callable[[str], int],
    headings: HeadingIndex | None,
) -> list[tuple[int, int]]:
    overlapped = spans[:1]
    for (previous_start, _), (start, end) in zip(spans, spans[1:]):
        earliest = previous_start
        if headings is not None:
            earliest = max(earliest, headings.section_start_at(start))
        overlapped.append((_overlap_start(text, earliest, start, overlap, measure), end))
    return overlapped


def _without_contained(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop a span that the next one covers whole: its overlap took in all of it.

    That happens to a short piece such as a lone markdown heading that the splitter cut
    off from its section: the next chunk reaches back and begins with it.
    """
    return [
        span
        for span, following in zip(spans, spans[1:] + [None])
        if following is None or not (following[0] <= span[0] and span[1] <= following[1])
    ]


def _overlap_start(text: str, earliest: int, start: int, overlap: int, measure: Callable[[str], int]) -> int:
    """The earliest word start in [earliest, start) whose text up to `start` fits in `overlap`."""
    if measure is len:
        earliest = max(earliest, start - overlap)  # cheap bound: one unit is one character
    candidates = [match.start() for match in _WORD_START.finditer(text, earliest, start)]
    # measure(text[p:start]) shrinks as p grows: binary search for the first p that fits.
    low, high = 0, len(candidates)
    while low < high:
        middle = (low + high) // 2
        if measure(text[candidates[middle] : start]) <= overlap:
            high = middle
        else:
            low = middle + 1
    return candidates[low] if low < len(candidates) else start
