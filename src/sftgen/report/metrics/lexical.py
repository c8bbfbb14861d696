"""Lexical diversity: distinct-n, compression ratio, opener concentration, lengths.

- distinct-n: distinct n-grams / all n-grams over the set (lowercased word tokens); 1.0 = no n-gram repeats.
- compression ratio: uncompressed size / zlib (level 9) compressed size of the texts joined by newlines, in
  UTF-8 bytes, as the diversity literature reports it. Higher = more repetitive (human prompts sit near 2,
  templated ones near 3); a set of identical texts compresses very far.
- top opener share: the share of texts whose first 3 words are the most common such opener.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from typing import Any

import numpy as np

WORD = re.compile(r"\w+(?:'\w+)?", re.UNICODE)
OPENER_WORDS = 3
TOP_OPENERS = 10


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def distinct_n(token_lists: list[list[str]], n: int) -> float:
    """Distinct n-grams over all n-grams of the set; 0.0 for a set without any n-gram."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for words in token_lists:
        grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def compression_ratio(texts: list[str]) -> float:
    """zlib level 9: uncompressed bytes / compressed bytes of the texts joined by newlines (0 for no text)."""
    raw = "\n".join(texts).encode("utf-8")
    if not raw:
        return 0.0
    return len(raw) / len(zlib.compress(raw, 9))


def opener_counts(token_lists: list[list[str]]) -> Counter:
    return Counter(" ".join(words[:OPENER_WORDS]) for words in token_lists if words)


def length_summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "p10": 0.0, "p90": 0.0, "min": 0, "max": 0}
    array = np.asarray(values, dtype=float)
    return {
        "mean": round(float(array.mean()), 2), "median": float(np.median(array)),
        "p10": float(np.percentile(array, 10)), "p90": float(np.percentile(array, 90)),
        "min": int(array.min()), "max": int(array.max()),
    }


def lexical_metrics(texts: list[str]) -> dict[str, Any]:
    token_lists = [tokens(text) for text in texts]
    openers = opener_counts(token_lists)
    top = openers.most_common(TOP_OPENERS)
    return {
        "n": len(texts),
        "distinct_1": round(distinct_n(token_lists, 1), 4),
        "distinct_2": round(distinct_n(token_lists, 2), 4),
        "distinct_3": round(distinct_n(token_lists, 3), 4),
        "compression_ratio": round(compression_ratio(texts), 4),
        "compression": "zlib level 9, uncompressed/compressed UTF-8 bytes of the texts joined by newlines (higher: more repetitive)",
        "top_opener_share": round(top[0][1] / len(texts), 4) if top and texts else 0.0,
        "top_openers": [{"opener": opener, "count": count} for opener, count in top],
        "distinct_openers": len(openers),
    }


def length_metrics(texts: list[str]) -> dict[str, Any]:
    words = [len(tokens(text)) for text in texts]
    return {"words": length_summary(words), "chars": length_summary([len(text) for text in texts])}
