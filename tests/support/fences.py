"""Finding fence delimiters in rendered prompts, independently of sftgen's own fencing code: every tag of
a label the package's templates fence with, opening, closing or self-closing, in any case and spacing,
found after NFKC folding (so fullwidth look-alikes count too)."""

from __future__ import annotations

import re
import unicodedata

from sftgen.llm.templates import PACKAGE_TEMPLATES

LABELS = sorted({"DOCUMENT"} | {label for path in PACKAGE_TEMPLATES.glob("*.jinja")
                                for label in re.findall(r'fence\("([A-Z_]+)"', path.read_text())})
TAG = re.compile(r"<\s*(/?)\s*(" + "|".join(LABELS) + r")(?!\w)[^<>]*?(/?)\s*(>|$)", re.IGNORECASE | re.MULTILINE)


def delimiters(text: str) -> list[tuple[int, str, str]]:
    """(position in the folded text, 'open'/'close'/'self', label) of every fence tag."""
    folded = unicodedata.normalize("NFKC", text)
    found = []
    for match in TAG.finditer(folded):
        kind = "close" if match.group(1) else ("self" if match.group(3) else "open")
        found.append((match.start(), kind, match.group(2).upper()))
    return found


def depth_at(text: str, position: int) -> int:
    """How many fences are open at `position` of `text` (0: outside every fence)."""
    depth = 0
    folded_position = len(unicodedata.normalize("NFKC", text[:position]))
    for start, kind, _ in delimiters(text):
        if start >= folded_position:
            break
        depth += {"open": 1, "close": -1, "self": 0}[kind]
    return depth
