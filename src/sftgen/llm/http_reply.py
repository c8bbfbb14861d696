"""An HTTP reply from the chat server, and what the client reads in it: JSON, a chat completion, Retry-After."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class HTTPReply:
    status_code: int
    headers: Any
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def decode_json(response: HTTPReply) -> dict[str, Any] | None:
    try:
        payload = json.loads(response.content)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def is_completion(payload: dict[str, Any]) -> bool:
    choices = payload.get("choices")
    return isinstance(choices, list) and bool(choices)


def retry_after(response: HTTPReply | None) -> float | None:
    """Seconds from a Retry-After header, uncapped (seconds form; the HTTP-date form is rare from LLM servers)."""
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def http_error(response: HTTPReply) -> str:
    value = response.headers.get("retry-after")
    return f"HTTP {response.status_code}" + (f" (Retry-After: {value})" if value else "")


def read_choice(response: dict[str, Any]) -> tuple[str, str | None]:
    """The first choice's content and finish reason; ("", "malformed") when the completion has none."""
    try:
        choice = response["choices"][0]
        return choice["message"].get("content") or "", choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return "", "malformed"
