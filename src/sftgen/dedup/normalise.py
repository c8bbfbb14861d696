"""Text normalisation for exact dedup and the word shingles of near-dedup."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case, accents' composed forms, punctuation and whitespace do not count: the words (runs of letters and
    digits) of the NFKC, case-folded text, one space apart. (No whitespace character is a letter or digit,
    so this is `" ".join(_NOT_WORD.sub(" ", text).split())`, in one pass.)"""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def shingles(text: str, size: int) -> set[str]:
    """Word n-grams of the normalised text; a text shorter than `size` words is one shingle."""
    return word_shingles(normalise(text).split(), size)


def word_shingles(words: list[str], size: int) -> set[str]:
    """Word n-grams of words already normalised; fewer than `size` words are one shingle."""
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def renormalised(words: list[str]) -> str:
    """`normalise(" ".join(words))` for words `normalise` gave: the same text when it is ASCII (then a
    second pass changes nothing), normalised again otherwise (case folding may leave text NFKC changes)."""
    joined = " ".join(words)
    return joined if joined.isascii() else normalise(joined)


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
