"""Citation markers in answers: `[1]`, `[2]`, `[1, 3]` point at the numbered passages the answer was
written from. Numbers that match no retrieved passage are removed from the text and reported, so an
answer never cites a passage that was not retrieved."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)(?:\s*[,;:]\s*[^\[\]\n]{0,120})?\]")
"""`[1]`, `[2, 3]`, and the loose forms small models write after a numbered list of passages: `[3: Title]`,
`[1, 2, Title]`. Only the numbers are kept."""
NUMBER_SEPARATOR = re.compile(r"[,;]")
SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([.,;:!?])")
PUNCT_RUN = re.compile(r"([,;:])(?:[ \t]*[,;:])+")
PUNCT_BEFORE_END = re.compile(r"[ \t]*[,;:]+(?=[ \t]*(?:[.!?]|$))", re.MULTILINE)
LINE_START_PUNCT = re.compile(r"^[ \t]*[,;:.\]]+[ \t]*", re.MULTILINE)
EMPTY_BRACKETS = re.compile(r"\([ \t]*\)|\[[ \t]*\]")


@dataclass
class CheckedCitations:
    text: str
    """The answer with unknown citation numbers removed."""
    cited: list[int] = field(default_factory=list)
    """Valid numbers in order of first use."""
    unknown: list[int] = field(default_factory=list)


def check_citations(text: str, passage_count: int) -> CheckedCitations:
    numbers: list[int] = []  # every marker's numbers, in the text's order
    edited: list[bool] = []

    def rewrite(match: re.Match[str]) -> str:
        marker = match.group(0)
        canonical, read = marker_reading(marker, match.group(1), passage_count)
        numbers.extend(read)
        if canonical != marker:
            edited.append(True)
        return canonical

    rewritten = MARKER.sub(rewrite, text)
    return CheckedCitations(text=tidied(rewritten) if edited else rewritten,
                            cited=list(dict.fromkeys(n for n in numbers if 1 <= n <= passage_count)),
                            unknown=list(dict.fromkeys(n for n in numbers if not 1 <= n <= passage_count)))


@lru_cache(maxsize=1024)
def marker_reading(marker: str, numbers: str, passage_count: int) -> tuple[str, tuple[int, ...]]:
    """A marker's canonical form (its numbers of existing passages, `[1, 3]`; empty when there are none) and
    all its numbers; kept, as answers cite the same few markers over and over."""
    read = tuple(int(part) for part in NUMBER_SEPARATOR.split(numbers))
    valid = [n for n in read if 1 <= n <= passage_count]
    return ("[" + ", ".join(str(n) for n in valid) + "]" if valid else ""), read


def tidied(text: str) -> str:
    """The text around removed markers, without the spaces and punctuation they leave behind."""
    text = re.sub(r"[ \t]+\)", ")", re.sub(r"\([ \t]+", "(", text))
    text = EMPTY_BRACKETS.sub("", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = PUNCT_RUN.sub(r"\1", text)
    text = PUNCT_BEFORE_END.sub("", text)
    text = LINE_START_PUNCT.sub("", text)
    return unmatched_closing_brackets_removed(text).strip()


def unmatched_closing_brackets_removed(text: str) -> str:
    depth, kept = 0, []
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            if depth == 0:
                continue
            depth -= 1
        kept.append(char)
    return "".join(kept)


def citation_entries(cited: list[int], passages: Sequence[Any]) -> list[dict[str, Any]]:
    """`[n]` -> the passage's URL, title and id (passages are numbered from 1 in prompt order; each a Record
    or anything with its `id` and `meta`)."""
    entries = []
    for n in cited:
        passage = passages[n - 1]
        entries.append({"n": n, "url": passage.meta.get("url"), "title": passage.meta.get("title"),
                        "passage_id": passage.id})
    return entries
