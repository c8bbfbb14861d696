"""Whether a written answer is an answer: real text of its own outside the citation markers and the
passage titles, and not one passage copied out. Small models mirror the numbered list of passages they
are shown ("[1] Heat engine [2] Thermodynamic cycle") or return a passage word for word."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from sftgen.answers.citations import MARKER
from sftgen.dedup.normalise import normalise, renormalised

MIN_OWN_WORDS = 1
"""An answer needs a word of its own outside markers and titles; "Six [1]." can answer a question, a list of
titles cannot."""
COPY_SHINGLE = 5
COPY_CONTAINMENT = 0.8
"""An answer of which this share of word 5-grams is found in one passage is that passage copied."""
FENCE_ECHO = re.compile(r"\b(?:TITLE|PASSAGE|QUESTION)\s*:|<\s*/?\s*(?:TITLE|PASSAGE|QUESTION)\s*>|\[n(?:,\s*m)?\]")
"""The request's fence labels, or its citation notation `[n]` / `[n, m]` written back literally."""
"""The labels of the fences the answer template puts around its values, written back as if they were text
(`TITLE:pentaquarks.txt, PASSAGE:...`): the model is echoing the request's layout, not answering."""
FENCE_ECHO_NEEDS = ("TITLE", "PASSAGE", "QUESTION", "[n")
"""What every FENCE_ECHO match holds: an answer without any of them is searched no further."""


def own_words(answer: str, titles: Sequence[str]) -> list[str]:
    """The answer's words, without its citation markers and without the passages' titles."""
    return words_without_titles(unmarked(answer), titles)


def unmarked(text: str) -> str:
    """The normalised text without its citation markers."""
    return normalise(MARKER.sub(" ", text))


def words_without_titles(text: str, titles: Sequence[str]) -> list[str]:
    """The words of an `unmarked` text once the titles are taken out of it (normalised text is words and
    spaces only, so its words are its `split()`)."""
    for title in sorted({normalised_title(t) for t in titles if t and t.strip()}, key=len, reverse=True):
        if title in text:
            text = re.sub(rf"(?<!\w){re.escape(title)}(?!\w)", " ", text)
    return text.split()


@lru_cache(maxsize=4096)
def normalised_title(title: str) -> str:
    """`normalise(title)`, kept: the same few pages' titles come with every answer written from them."""
    return normalise(title)


def copied_passage(answer: str, passages: Sequence[str], answer_words: list[str] | None = None) -> int | None:
    """The index of the passage the answer copies, if it is one passage's text (or a stretch of it).
    `answer_words`: `own_words(answer, [])` when the caller has them.

    A passage copies the answer when COPY_CONTAINMENT of the answer's word 5-grams are 5-grams of the
    passage (its words in order, as `own_words` gives them); each passage's 5-grams are kept for the next
    answer written from it."""
    words = own_words(answer, []) if answer_words is None else answer_words
    if len(words) < 2 * COPY_SHINGLE:  # a short answer may well say what a passage says
        return None
    words = renormalised(words).split()
    answer_shingles = set(map(" ".join, zip(*(words[i:] for i in range(COPY_SHINGLE)))))  # len(words) > 5
    needed = COPY_CONTAINMENT * len(answer_shingles)
    for index, passage in enumerate(passages):
        if len(answer_shingles & passage_shingles(passage)) >= needed:
            return index
    return None


def in_order(words: list[str], size: int) -> list[str]:
    """`word_shingles(words, size)` in the order of the text."""
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


@lru_cache(maxsize=4096)
def passage_shingles(passage: str) -> frozenset[str]:
    """The passage's word 5-grams (none when it has fewer than five words). Kept for the last passages
    seen: prompts of one subject are answered from the same passages."""
    words = renormalised(own_words(passage, [])).split()
    return frozenset(" ".join(words[i : i + COPY_SHINGLE]) for i in range(len(words) - COPY_SHINGLE + 1))


def fence_echo(answer: str) -> re.Match[str] | None:
    """`FENCE_ECHO.search(answer)`, the search skipped when the answer holds none of what a match needs."""
    return FENCE_ECHO.search(answer) if any(word in answer for word in FENCE_ECHO_NEEDS) else None


def answer_problem(answer: str, titles: Sequence[str], passages: Sequence[str]) -> tuple[str, str] | None:
    """Why a grounded answer cannot be kept (a drop reason and what it was), or None when it can."""
    text = unmarked(answer)
    words = words_without_titles(text, titles)
    if len(words) < MIN_OWN_WORDS:
        return "no_answer_text", f"no word of its own outside citation markers and passage titles: {answer[:200]!r}"
    echo = fence_echo(answer)
    if echo:
        return "template_echo", f"the answer repeats the request's fence label {echo.group(0)!r}: {answer[:200]!r}"
    copied = copied_passage(answer, passages, text.split())
    if copied is not None:
        return "copied_passage", f"the answer is passage [{copied + 1}] copied word for word"
    return None
