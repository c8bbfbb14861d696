"""Citation markers in answers: `[1]`, `[2]`, `[1, 3]` point at the numbered passages the answer was
written from. Numbers that match no retrieved passage are removed from the text and reported, so an
answer never cites a passage that was not retrieved."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sftgen.records import Record

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")


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
        return "[" + ", ".join(str(n) for n in valid) + "]" if valid else ""

    rewritten = MARKER.sub(rewrite, text)
    if checked.unknown:
        rewritten = SPACE_BEFORE_PUNCT.sub(r"\1", re.sub(r"[ \t]{2,}", " ", rewritten)).strip()
    checked.text = rewritten
    return checked


def citation_entries(cited: list[int], passages: list[Record]) -> list[dict[str, Any]]:
    """`[n]` -> the passage's URL, title and id (passages are numbered from 1 in prompt order)."""
    entries = []
    for n in cited:
        passage = passages[n - 1]
        entries.append({"n": n, "url": passage.meta.get("url"), "title": passage.meta.get("title"),
                        "passage_id": passage.id})
    return entries
