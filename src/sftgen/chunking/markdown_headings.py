"""Markdown headings with their offsets, and the heading path in force at any offset.

Knows ATX headings (`# Title`, `## Title ##`) and setext headings (a line underlined with
`===` or `---`); skips fenced code blocks and a leading YAML front matter block, whose
lines would otherwise look like headings.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_ATX_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE_OPENING = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Lines that cannot be the text of a setext heading: list items, quotes, tables, indented code.
_NOT_HEADING_TEXT = re.compile(r"^(?: {4,}|\t| {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)| {0,3}>|.*\|)")
_FRONT_MATTER_FENCE = "---"
_FRONT_MATTER_CLOSINGS = ("---", "...")


@dataclass(frozen=True)
class Heading:
    start: int  # offset of the heading's first line in the text
    level: int  # 1 for `#` or `===`, 2 for `##` or `---`, ...
    title: str


class HeadingIndex:
    """Answers "which headings are in force at this offset?" for one markdown text."""

    def __init__(self, text: str) -> None:
        headings = find_headings(text)
        self._starts = [heading.start for heading in headings]
        self._paths = _paths_after_each(headings)

    def path_at(self, offset: int) -> list[str]:
        """Titles from the outermost to the innermost heading at or before `offset`."""
        position = bisect_right(self._starts, offset) - 1
        return list(self._paths[position]) if position >= 0 else []

    def section_start_at(self, offset: int) -> int:
        """Offset of the last heading at or before `offset`; 0 before the first heading."""
        position = bisect_right(self._starts, offset) - 1
        return self._starts[position] if position >= 0 else 0


def find_headings(text: str) -> list[Heading]:
    lines = _lines_with_offsets(text)
    front_matter_lines = _front_matter_line_count(lines)
    headings: list[Heading] = []
    fence: str | None = None
    previous: tuple[int, str] | None = None  # the last line that may be setext heading text
    for offset, line in lines[front_matter_lines:]:
        if fence is not None:
            fence = None if _closes_fence(line, fence) else fence
            continue
        fence = _opened_fence(line)
        heading = None if fence else _heading_on_line(line, offset, previous)
        if heading is not None:
            headings.append(heading)
            previous = None
        else:
            previous = (offset, line) if _can_be_setext_text(line) and not fence else None
    return headings


def _heading_on_line(line: str, offset: int, previous: tuple[int, str] | None) -> Heading | None:
    atx = _ATX_HEADING.match(line)
    if atx:
        title = _ATX_CLOSING_HASHES.sub("", atx.group(2) or "").strip()
        return Heading(start=offset, level=len(atx.group(1)), title=title) if title else None
    underline = _SETEXT_UNDERLINE.match(line)
    if underline and previous is not None:
        previous_offset, previous_line = previous
        level = 1 if underline.group(1).startswith("=") else 2
        return Heading(start=previous_offset, level=level, title=previous_line.strip())
    return None


def _can_be_setext_text(line: str) -> bool:
    return bool(line.strip()) and not _NOT_HEADING_TEXT.match(line) and not _SETEXT_UNDERLINE.match(line)


def _opened_fence(line: str) -> str | None:
    match = _FENCE_OPENING.match(line)
    return match.group(1) if match else None


def _closes_fence(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence) and set(stripped) == {fence[0]}


def _front_matter_line_count(lines: list[tuple[int, str]]) -> int:
    """Lines taken by a YAML front matter block at the very start; 0 when there is none."""
    if not lines or lines[0][1].rstrip() != _FRONT_MATTER_FENCE:
        return 0
    for line_number, (_, line) in enumerate(lines[1:], start=1):
        if line.rstrip() in _FRONT_MATTER_CLOSINGS:
            return line_number + 1
    return 0


def _lines_with_offsets(text: str) -> list[tuple[int, str]]:
    lines = []
    offset = 0
    for line in text.split("\n"):
        lines.append((offset, line.rstrip("\r")))
        offset += len(line) + 1
    return lines


def _paths_after_each(headings: list[Heading]) -> list[tuple[str, ...]]:
    stack: list[Heading] = []
    paths = []
    for heading in headings:
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        stack.append(heading)
        paths.append(tuple(entry.title for entry in stack))
    return paths
