"""Whether a written answer is an answer: real text of its own outside the citation markers and the
passage titles, and not one passage copied out. Small models mirror the numbered list of passages they
are shown ("[1] Heat engine [2] Thermodynamic cycle") or return a passage word for word."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from functools import lru_cache

from sftgen.answers.citations import MARKER
from sftgen.dedup.normalise import normalise

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


ASCII_WORDS = bytes(ord(chr(code).lower()) if code < 128 and chr(code).isalnum() else ord(" ") for code in range(256))
"""`bytes.translate` table of ASCII text: letters to lower case, digits as they are, anything else to a space."""


def normalised(text: str) -> str:
    """`normalise(text)`; an ASCII text (NFKC leaves it as it is, case folding is `lower`, and its letters and
    digits are the ASCII ones) by one `bytes.translate`, in a third of the time."""
    if text.isascii():
        return " ".join(text.encode("ascii").translate(ASCII_WORDS).decode("ascii").split())
    return normalise(text)


def own_words(answer: str, titles: Sequence[str]) -> list[str]:
    """The answer's words, without its citation markers and without the passages' titles."""
    return words_without_titles(unmarked(answer), titles)


def unmarked(text: str) -> str:
    """The normalised text without its citation markers."""
    return normalised(MARKER.sub(" ", text))


def words_without_titles(text: str, titles: Sequence[str], words: list[str] | None = None) -> list[str]:
    """The words of an `unmarked` text once the titles are taken out of it (normalised text is words and
    spaces only, so its words are its `split()`; `words`: that split, when the caller has it)."""
    for title in titles_longest_first(titles):
        if title in text:
            text, words = title_pattern(title).sub(" ", text), None
    return text.split() if words is None else words


def titles_longest_first(titles: Sequence[str]) -> list[str]:
    """The distinct normalised titles, longest first (a title inside a longer one goes after it)."""
    return sorted({normalised_title(t) for t in titles if t and t.strip()}, key=len, reverse=True)


@lru_cache(maxsize=4096)
def normalised_title(title: str) -> str:
    """`normalised(title)`, kept: the same few pages' titles come with every answer written from them (each
    prompt's set of titles is its own, so the sets are not worth keeping)."""
    return normalised(title)


@lru_cache(maxsize=4096)
def title_pattern(title: str) -> re.Pattern[str]:
    """The normalised title as a whole run of words, compiled once."""
    return re.compile(rf"(?<!\w){re.escape(title)}(?!\w)")


def copied_passage(answer: str, passages: Sequence[str], answer_words: list[str] | None = None) -> int | None:
    """The index of the passage the answer copies, if it is one passage's text (or a stretch of it).
    `answer_words`: `own_words(answer, [])` when the caller has them.

    A passage copies the answer when COPY_CONTAINMENT of the answer's word 5-grams are 5-grams of the
    passage (its words in order, as `own_words` gives them); each passage's 5-grams are kept for the next
    answer written from it. A 5-gram is a tuple of its words (the same 5-grams as the words joined by
    spaces: a normalised word holds no space), so no 5-gram's text is ever built."""
    words = own_words(answer, []) if answer_words is None else answer_words
    if len(words) < 2 * COPY_SHINGLE:  # a short answer may well say what a passage says
        return None
    answer_shingles = set(shingles_of(renormalised_words(words)))  # len(words) > 5
    needed = COPY_CONTAINMENT * len(answer_shingles)
    for index, passage in enumerate(passages):
        if len(answer_shingles & passage_shingles(passage)) >= needed:
            return index
    return None


def renormalised_words(words: list[str]) -> list[str]:
    """`renormalised(words).split()`: the same words when they are ASCII (a second pass changes nothing)."""
    joined = " ".join(words)
    return words if joined.isascii() else normalise(joined).split()


def shingles_of(words: list[str]) -> zip:
    """The word 5-grams of the words, in order, as tuples (none for fewer than five words)."""
    return zip(*(words[i:] for i in range(COPY_SHINGLE)))


@lru_cache(maxsize=4096)
def passage_shingles(passage: str) -> frozenset[tuple[str, ...]]:
    """The passage's word 5-grams (none when it has fewer than five words), its words read once. Kept for
    the last passages seen: prompts of one subject are answered from the same passages. Its words are
    interned, so the 5-grams of the passages kept share them (as tuples of their own words they took half as
    much memory again as the 5-grams' texts did; as tuples of shared words, a little less)."""
    return frozenset(shingles_of(list(map(sys.intern, renormalised_words(own_words(passage, []))))))


def fence_echo(answer: str) -> re.Match[str] | None:
    """`FENCE_ECHO.search(answer)`, the search skipped when the answer holds none of what a match needs."""
    return FENCE_ECHO.search(answer) if any(word in answer for word in FENCE_ECHO_NEEDS) else None


def answer_problem(answer: str, titles: Sequence[str], passages: Sequence[str]) -> tuple[str, str] | None:
    """Why a grounded answer cannot be kept (a drop reason and what it was), or None when it can."""
    text = unmarked(answer)
    all_words = text.split()
    words = words_without_titles(text, titles, all_words)
    if len(words) < MIN_OWN_WORDS:
        return "no_answer_text", f"no word of its own outside citation markers and passage titles: {answer[:200]!r}"
    echo = fence_echo(answer)
    if echo:
        return "template_echo", f"the answer repeats the request's fence label {echo.group(0)!r}: {answer[:200]!r}"
    copied = copied_passage(answer, passages, all_words)
    if copied is not None:
        return "copied_passage", f"the answer is passage [{copied + 1}] copied word for word"
    return None
