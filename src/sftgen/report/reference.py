"""Reading a reference set of human-written prompts from JSONL: per line the first of `prompt`, `text`,
`instruction`, or the first user message of `messages`
(or of `prompt` as a list of messages, as in a preference pair)."""

from __future__ import annotations

import json
from pathlib import Path

TEXT_FIELDS = ("prompt", "text", "instruction")


class ReferenceError(ValueError):
    """A reference file that cannot be read; the message names the file and line."""


def prompt_of(item: object) -> str | None:
    if not isinstance(item, dict):
        return None
    for name in TEXT_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and value.strip():
            return value
    messages = item.get("messages")
    if not isinstance(messages, list):  # a preference pair's `prompt` is its messages
        messages = item.get("prompt")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str) and content.strip():
                    return content
    return None


def read_reference(path: Path) -> list[str]:
    if not path.is_file():
        raise ReferenceError(f"{path}: no such file")
    texts = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReferenceError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            text = prompt_of(item)
            if text is None:
                raise ReferenceError(
                    f"{path}:{number}: no prompt found: expected a non-empty string field "
                    f"{', '.join(TEXT_FIELDS)} or a user message in `messages`"
                )
            texts.append(text)
    if not texts:
        raise ReferenceError(f"{path}: no prompts in the file")
    return texts
