"""Citation markers in answers: `[1]`, `[2]`, `[1, 3]` point at the numbered passages the answer was
written from. Numbers that match no retrieved passage are removed from the text and reported, so an
answer never cites a passage that was not retrieved."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)(?:\s*[,;:]\s*[^\[\]\n]{0,120})?\]")
"""`[1]`, `[2, 3]`, and the loose forms small models write after a numbered list of passages: `[3: Title]`,
`[1, 2, Title]`. Only the numbers are kept."""
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
    checked = CheckedCitations(text="")

    def rewrite(match: re.Match[str]) -> str:
        numbers = [int(part) for part in match.group(1).split(",")]
        valid = [n for n in numbers if 1 <= n <= passage_count]
        for n in numbers:
            target = checked.cited if n in valid else checked.unknown
            if n not in target:
                target.append(n)
        canonical = "[" + ", ".join(str(n) for n in valid) + "]" if valid else ""
        if canonical != match.group(0):
            edited.append(True)
        return canonical

    edited: list[bool] = []
    rewritten = MARKER.sub(rewrite, text)
    checked.text = tidied(rewritten) if edited else rewritten
    return checked


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
