"""Whether a written answer is an answer: real text of its own outside the citation markers and the
passage titles, and not one passage copied out. Small models mirror the numbered list of passages they
are shown ("[1] Heat engine [2] Thermodynamic cycle") or return a passage word for word."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sftgen.answers.citations import MARKER
from sftgen.dedup.normalise import normalise, shingles

MIN_OWN_WORDS = 1
"""An answer needs a word of its own outside markers and titles; "Six [1]." can answer a question, a list of
titles cannot."""
COPY_SHINGLE = 5
COPY_CONTAINMENT = 0.8
"""An answer of which this share of word 5-grams is found in one passage is that passage copied."""
WORD = re.compile(r"[^\W_]+")
FENCE_ECHO = re.compile(r"\b(?:TITLE|PASSAGE|QUESTION)\s*:|<\s*/?\s*(?:TITLE|PASSAGE|QUESTION)\s*>|\[n(?:,\s*m)?\]")
"""The request's fence labels, or its citation notation `[n]` / `[n, m]` written back literally."""
"""The labels of the fences the answer template puts around its values, written back as if they were text
(`TITLE:pentaquarks.txt, PASSAGE:...`): the model is echoing the request's layout, not answering."""


def own_words(answer: str, titles: Sequence[str]) -> list[str]:
    """The answer's words, without its citation markers and without the passages' titles."""
    text = normalise(MARKER.sub(" ", answer))
    for title in sorted({normalise(t) for t in titles if t and t.strip()}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(title)}(?!\w)", " ", text)
    return WORD.findall(text)


def copied_passage(answer: str, passages: Sequence[str]) -> int | None:
    """The index of the passage the answer copies, if it is one passage's text (or a stretch of it)."""
    words = own_words(answer, [])
    if len(words) < 2 * COPY_SHINGLE:  # a short answer may well say what a passage says
        return None
    answer_shingles = shingles(" ".join(words), COPY_SHINGLE)
    for index, passage in enumerate(passages):
        found = answer_shingles & shingles(" ".join(own_words(passage, [])), COPY_SHINGLE)
        if len(found) >= COPY_CONTAINMENT * len(answer_shingles):
            return index
    return None


def answer_problem(answer: str, titles: Sequence[str], passages: Sequence[str]) -> tuple[str, str] | None:
    """Why a grounded answer cannot be kept (a drop reason and what it was), or None when it can."""
    words = own_words(answer, titles)
    if len(words) < MIN_OWN_WORDS:
        return "no_answer_text", f"no word of its own outside citation markers and passage titles: {answer[:200]!r}"
    echo = FENCE_ECHO.search(answer)
    if echo:
        return "template_echo", f"the answer repeats the request's fence label {echo.group(0)!r}: {answer[:200]!r}"
    copied = copied_passage(answer, passages)
    if copied is not None:
        return "copied_passage", f"the answer is passage [{copied + 1}] copied word for word"
    return None
