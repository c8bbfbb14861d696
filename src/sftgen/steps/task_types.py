"""A generated prompt's task type, checked against its text rather than taken from its position in the reply.

`generate` asks for one question per task type, in a given order, and small models do not keep the order
(or write two of one kind). Each prompt is labelled with the type asked at its position when its text
agrees or says nothing either way, and with the type its text shows when it clearly shows another one of
the recipe's types (the asked one is kept as `task_type_asked`). A type's own name in the text is a cue too
(so a recipe's own type names are checked as well).
"""

from __future__ import annotations

import re
from functools import lru_cache

CUES: dict[str, re.Pattern[str]] = {
    "compare": re.compile(r"\bcompar|\bdifferen(?:ce|ces|t from)\b|\bversus\b|\bvs\.?\s|\bdistinguish|\bcontrast"
                          r"|\bsimilarit|\bhow (?:does|do|is|are) .{3,60} differ\b"),
    "how-to": re.compile(r"^how (?:do|can|should|would|could) (?:i|we|you|one)\b|\bhow to\b|\bsteps? (?:to|for)\b"
                         r"|\bprocedure\b|\bwalk me through\b|\bset up\b"),
    "troubleshoot": re.compile(r"\b(?:does|do|is|are|did|was)n['\u2019]?t\b.*\bwhy\b|\bwhy (?:does|do|is|are|did|was)"
                               r"(?:n['\u2019]t| not)\b|\bfail|\bwrong\b|\berror\b|\bfix\b|\bdiagnos|\bunexpected"
                               r"|\btroubleshoot|\bnot (?:work|working|match|agree)"),
    "calculate": re.compile(r"\bcalculat|\bcompute\b|\bhow (?:much|many|long|far|fast|large|big)\b|\bestimate\b"
                            r"|\bwhat (?:is|are) the (?:value|number|magnitude)\b"),
    "trade-off": re.compile(r"\btrade-?offs?\b|\bpros and cons\b|\badvantages?\b|\bdisadvantages?\b|\bdrawbacks?\b"
                            r"|\bat the (?:cost|expense) of\b|\bworth (?:it|the)\b|\bweigh"),
    "explain": re.compile(r"^(?:why|what|explain|describe)\b|\bexplain\b|\bwhy\b"),
}
FALLBACK = "explain"
"""Its cue (why, what) matches most questions: it counts only when no other type's cue does."""
CUE_WORDS: dict[str, tuple[str, ...]] = {
    "compare": ("compar", "differ", "versus", "vs", "distinguish", "contrast", "similarit"),
    "how-to": ("how do", "how can", "how should", "how would", "how could", "how to", "step", "procedure",
               "walk me through", "set up"),
    "troubleshoot": ("why", "fail", "wrong", "error", "fix", "diagnos", "unexpected", "troubleshoot", "not work",
                     "not match", "not agree"),
    "calculate": ("calculat", "compute", "how much", "how many", "how long", "how far", "how fast", "how large",
                  "how big", "estimate", "what is the", "what are the"),
    "trade-off": ("trade", "pros and cons", "advantage", "drawback", "at the ", "worth ", "weigh"),
    "explain": ("why", "what", "explain", "describe"),
}
"""Per cue, words one of which every text it matches holds (each of its alternatives needs one): a text
with none of them is not searched. Searching every cue was three quarters of a generated prompt's checks;
a substring test costs a fraction of a regular expression's search (tests/test_task_types.py pins the two
ways equal)."""


def shows(name: str, folded: str) -> bool:
    """The type's cues, or its own name as a word, are in the (casefolded) text."""
    cue = CUES.get(name)
    if cue is not None and any(word in folded for word in CUE_WORDS[name]) and cue.search(folded):
        return True
    return name.casefold() in folded and name_pattern(name).search(folded) is not None


@lru_cache(maxsize=256)
def name_pattern(name: str) -> re.Pattern[str]:
    """The type's own name as a word (compiled once: re's own cache lookup cost a fifth of `shows`)."""
    return re.compile(rf"(?<!\w){re.escape(name.casefold())}(?!\w)")


def shown_types(text: str, allowed: list[str]) -> list[str]:
    """The recipe's task types the text shows, in the recipe's order."""
    folded = " ".join(text.casefold().split())
    shown = [name for name in allowed if name != FALLBACK and shows(name, folded)]
    if not shown and FALLBACK in allowed and shows(FALLBACK, folded):
        shown = [FALLBACK]
    return shown


def checked_task_type(text: str, asked: str, allowed: list[str]) -> tuple[str, str]:
    """(task type, how it was decided): `asked` when the text shows it ('checked') or shows none of the
    recipe's types ('asked'); else the first of the recipe's types the text shows ('relabelled')."""
    shown = shown_types(text, allowed)
    if asked in shown:
        return asked, "checked"
    if not shown:
        return asked, "asked"
    return shown[0], "relabelled"
