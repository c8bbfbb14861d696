"""What every prompt record carries (meta per docs/ARCHITECTURE.md), and checks shared by the steps
that write prompts."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from sftgen.records import Record, stable_hash

PromptText = Annotated[str, Field(min_length=15, max_length=300)]
"""A prompt as the steps that write prompts ask for it (generate, broaden)."""

# Phrases that make a prompt lean on a text the user of the fine-tuned model will never see.
NOT_SELF_CONTAINED = re.compile(
    r"\b(according to|based on|in|from|as (?:described|stated|mentioned) in) (the|this) "
    r"(text|passage|document|article|excerpt|above|chunk|context)\b|\bthe (above|following) (text|passage)\b",
    re.IGNORECASE,
)
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


def self_contained(text: str) -> bool:
    return NOT_SELF_CONTAINED.search(text) is None


LEADING_JUNK = re.compile(r"^[^\w¿¡\"']+")


def unusable_prompt(text: str, seen: set[str]) -> tuple[str, str] | None:
    """Why a written prompt cannot be kept (a drop reason and what it was), or None when it can."""
    if len(text) < 12 or text.casefold() in seen:
        return "empty_or_repeated", repr(text)
    if not is_request(text):
        return "not_a_question", f"neither a question nor a request: {text}"
    if not self_contained(text):
        return "not_self_contained", f"refers to a text the reader lacks: {text}"
    return None


def clean_prompt(text: str) -> str:
    """One line, without the stray brackets, list markers and quotes small models leave around it."""
    text = " ".join(text.split())
    text = LEADING_JUNK.sub("", text).strip().strip('"').strip()
    return re.sub(r"^(?:\d+[.)]|Q:|Question:)\s*", "", text, flags=re.IGNORECASE)


def inherited_meta(prompt: Record, **changes: Any) -> dict[str, Any]:
    """A new prompt's meta from the prompt it was made from (not its LLM cache keys)."""
    meta = {key: prompt.meta[key] for key in PROMPT_META_KEYS if key in prompt.meta}
    meta.update(changes)
    return meta


def rotated(values: list[str], key: str, count: int) -> list[str]:
    """`count` values taken in turn from a start that depends on `key`: varied across items, stable per item."""
    start = int(stable_hash(key, length=4), 16) % len(values)
    return [values[(start + i) % len(values)] for i in range(count)]
