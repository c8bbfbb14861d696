"""What every prompt record carries (meta per docs/ARCHITECTURE.md), and checks shared by the steps
that write prompts."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field

from sftgen.dedup.normalise import jaccard, normalise, shingles
from sftgen.records import Record, stable_hash

PromptText = Annotated[str, Field(min_length=15, max_length=300)]
"""A prompt as the steps that write prompts ask for it (generate, broaden)."""

# Phrases that make a prompt lean on a text the user of the fine-tuned model will never see.
NOT_SELF_CONTAINED = re.compile(
    r"\b(according to|based on|in|from|as (?:described|stated|mentioned) in) (the|this) "
    r"(text|passage|document|article|excerpt|above|chunk|context)\b|\bthe (above|following) (text|passage)\b"
    r"|\b(this|the) (passage|excerpt|chunk)\b|\bthis (text|document|article)\b"
    r"|\b(on|about|of|in|regarding|explain|describe|discuss) this (topic|subject)\b",
    re.IGNORECASE,
)
QUESTION_WORDS = frozenset("""
question questions ask asking asked answer answers topic topics subject subjects request requests prompt prompts
explain explaining describe compare comparing contrast discuss outline list give show tell help walk summarise
summarize evaluate assess suggest way ways thing things something anything everything concept concepts idea ideas
example examples type types kind kinds how-to trade-off trade-offs troubleshoot calculate what how why when where
which who whom whose does do did can could would should will is are was were be been being""".split())
"""Words that ask without naming what about: a prompt made only of these and function words ("how-to
questions", "Explain and compare", "how to ask about it") names nothing to answer."""
PROMPT_META_KEYS = ("subdomain", "topic", "use_case", "task_type", "difficulty", "persona", "profile_id",
                    "chunk_id", "document_id")


REQUEST_START = re.compile(
    r"^(how|what|why|when|where|which|who|whom|whose|is|are|can|could|would|should|do|does|did|will|"
    r"explain|describe|compare|contrast|list|give|walk|show|calculate|compute|estimate|derive|help|tell|"
    r"suggest|outline|summari[sz]e|discuss|evaluate|assess|i|i'm|i've|my|we|our)\b",
    re.IGNORECASE,
)


def is_request(text: str) -> bool:
    """A question or a request: ends with '?' or opens like one (not a statement or a bare phrase)."""
    return text.rstrip().endswith("?") or REQUEST_START.match(text.lstrip()) is not None


SELF_REFERENCE_WORDS = ("text", "passage", "document", "article", "excerpt", "above", "chunk", "this topic",
                        "this subject")
"""Every match of NOT_SELF_CONTAINED ends in one of these: plain ASCII without them is not searched (a
substring test is a fraction of the search; other text is searched, as its case folding can make one)."""


def self_contained(text: str) -> bool:
    if text.isascii():
        lowered = text.lower()
        if not any(word in lowered for word in SELF_REFERENCE_WORDS):
            return True
    return NOT_SELF_CONTAINED.search(text) is None


IMPERATIVE_START = re.compile(
    r"^(explain|describe|compare|contrast|list|give|walk|show|calculate|compute|estimate|derive|help|tell|"
    r"suggest|outline|summari[sz]e|discuss|evaluate|assess)\b", re.IGNORECASE)
REFUSAL = re.compile(
    r"^(i'?m sorry|sorry\b|i apologi[sz]e|as an ai\b|i (?:cannot|can't|can not|am unable to|won't|will not) "
    r"(?:help|assist|answer|provide|rephrase|reword|rewrite|comply|do that|fulfil))", re.IGNORECASE)
LEADING_JUNK = re.compile(r"^[^\w¿¡\"']+")
STEM = 5
"""Content words compare by their first letters, so "engine" and "engines", "convert" and "converts" agree."""
MIN_CONTENT_KEPT = 0.6
MAX_CONTENT_ADDED = 0.5
"""A rewording keeps at least this share of its original's content words, and at most this share of its
own content words are new: more is another question, or the instruction echoed back."""
MAX_PARENT_BIGRAM_JACCARD = 0.5
"""A new question sharing this much of its word bigrams with the one it was made from is that one reworded."""


def unusable_prompt(text: str, seen: set[str]) -> tuple[str, str] | None:
    """Why a written prompt cannot be kept (a drop reason and what it was), or None when it can."""
    if len(text) < 12 or text.casefold() in seen:
        return "empty_or_repeated", repr(text)
    if REFUSAL.match(text):
        return "refusal", f"the model declined instead of writing a question: {text}"
    if not is_request(text):
        return "not_a_question", f"neither a question nor a request: {text}"
    if not self_contained(text):
        return "not_self_contained", f"refers to a text the reader lacks: {text}"
    if not names_a_subject(text):
        return "too_vague", f"names nothing to ask about: {text}"
    return None


def names_a_subject(text: str) -> bool:
    asking = asking_words()
    return any(word not in asking for word in WORDS.findall(text.casefold()))


WORDS = re.compile(r"[\w'-]+")


@lru_cache(maxsize=1)
def asking_words() -> frozenset[str]:
    """Function words and QUESTION_WORDS: the words that name nothing to ask about."""
    from sftgen.dedup.content import FUNCTION_WORDS  # numpy comes with it; only prompt steps need it

    return FUNCTION_WORDS | QUESTION_WORDS


def content_stems(words: list[str]) -> set[str]:
    """The stems of the content words among `words` (a normalised text's words)."""
    from sftgen.dedup.content import FUNCTION_WORDS  # numpy comes with it; only prompt steps need it

    return {word[:STEM] for word in words if word not in FUNCTION_WORDS}


def rewording_problem(original: str, rewrite: str) -> tuple[str, str] | None:
    """Why a rewrite that should ask exactly what the original asks does not (reason, what it was), or None."""
    problem = unusable_prompt(rewrite, {original.casefold()})
    if problem:
        return problem
    if original.rstrip().endswith("?") and not (rewrite.rstrip().endswith("?") or IMPERATIVE_START.match(rewrite)):
        return "not_a_question", f"a question reworded into a statement: {rewrite}"
    words_before, words_after = normalise(original).split(), normalise(rewrite).split()
    before, after = content_stems(words_before), content_stems(words_after)
    numbers_before = {w for w in words_before if w.isdigit()}
    numbers_after = {w for w in words_after if w.isdigit()}
    if numbers_before != numbers_after:
        return "content_changed", f"numbers {sorted(numbers_before)} became {sorted(numbers_after)}: {rewrite}"
    kept = len(before & after) / len(before) if before else 1.0
    added = len(after - before) / len(after) if after else 0.0
    if kept < MIN_CONTENT_KEPT or added > MAX_CONTENT_ADDED:
        return "content_changed", (f"kept {kept:.0%} of the original's content words and added {added:.0%} "
                                   f"new ones: {rewrite}")
    return None


def reworded_parent(parent: str, variant: str) -> tuple[str, str] | None:
    """A variant that should be a new question but shares most of its wording with its parent."""
    overlap = jaccard(shingles(parent, 2), shingles(variant, 2))
    if overlap >= MAX_PARENT_BIGRAM_JACCARD:
        return "reworded_parent", f"shares {overlap:.0%} of its word pairs with the question it came from: {variant}"
    return None


def clean_prompt(text: str) -> str:
    """One line, without the stray brackets, list markers and quotes small models leave around it."""
    text = " ".join(text.split())
    text = LEADING_JUNK.sub("", text).strip().strip('"').strip()
    return re.sub(r"^(?:\d+[.)]|Q:|Question:)\s*", "", text, flags=re.IGNORECASE)


def without_label(text: str, labels: list[str]) -> str:
    """The prompt without a leading "trade-off: " that repeats one of the asked task types (small models
    write the type before the question)."""
    pattern = label_pattern(tuple(labels))
    return pattern.sub("", text) if pattern is not None else text


@lru_cache(maxsize=64)
def label_pattern(labels: tuple[str, ...]) -> re.Pattern[str] | None:
    """`without_label`'s pattern, compiled once per list of labels (a recipe has one)."""
    names = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.compile(rf"^(?:{names})\s*[:\-\u2013]\s+", re.IGNORECASE) if names else None


def inherited_meta(prompt: Record, **changes: Any) -> dict[str, Any]:
    """A new prompt's meta from the prompt it was made from (not its LLM cache keys)."""
    meta = {key: prompt.meta[key] for key in PROMPT_META_KEYS if key in prompt.meta}
    meta.update(changes)
    return meta


def rotated(values: list[str], key: str, count: int) -> list[str]:
    """`count` values taken in turn from a start that depends on `key`: varied across items, stable per item."""
    start = int(stable_hash(key, length=4), 16) % len(values)
    return [values[(start + i) % len(values)] for i in range(count)]
