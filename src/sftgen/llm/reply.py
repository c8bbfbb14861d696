"""What one ask of the LLM gives back: the reply's text, its validated form, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass
class LLMReply:
    content: str
    parsed: BaseModel | None
    cache_key: str
    cache_hit: bool
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasks: int = 0
