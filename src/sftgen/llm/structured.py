"""Structured output: how a pydantic schema is asked for, and how a reply is repaired and validated."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
TRAILING_COMMA = re.compile(r",\s*([}\]])")


class InvalidReply(Exception):
    """A reply that does not parse or does not fit its schema, even after repair."""

    def __init__(self, message: str, content: str):
        super().__init__(message)
        self.content = content


def response_format(schema: type[BaseModel], mode: str) -> dict[str, Any] | None:
    """The `response_format` for a mode; None where the schema travels as instructions only."""
    json_schema = schema.model_json_schema()
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": True}}
    if mode == "json_object":
        return {"type": "json_object", "schema": json_schema}
    return None


def schema_instructions(schema: type[BaseModel]) -> str:
    return (
        "Reply with one JSON object only, no prose and no code fence, matching this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), ensure_ascii=False)
    )


def parse_reply(content: str, schema: type[BaseModel]) -> BaseModel:
    """Validate a reply against the schema, repairing the usual damage first (fences, prose, trailing commas)."""
    text = content.strip()
    if text:  # most replies parse as sent: tried first without the repairs' machinery
        try:
            return schema.model_validate(lenient_json(text))
        except (json.JSONDecodeError, ValidationError):
            pass  # the loop below tries it again, with the repairs, and says why the last one failed
    errors = []
    for candidate in candidates_in_turn(content):
        try:
            data = lenient_json(candidate)  # small models put raw newlines inside strings
        except json.JSONDecodeError as exc:
            errors.append(f"not JSON: {exc.msg} at char {exc.pos}")
            continue
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            errors.append("does not fit the schema: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]
            ))
    raise InvalidReply(errors[-1] if errors else "empty reply", content)


LENIENT_JSON = json.JSONDecoder(strict=False)


def lenient_json(text: str) -> Any:
    """`json.loads(text, strict=False)`, without making a decoder (and its scanner) per call: that cost more
    than the decoding of a reply."""
    if text.startswith("\ufeff"):  # as json.loads says it
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return LENIENT_JSON.decode(text)


def repair_candidates(content: str) -> list[str]:
    """The reply as sent, then progressively repaired versions of it, without duplicates."""
    return list(candidates_in_turn(content))


def candidates_in_turn(content: str) -> Iterator[str]:
    """`repair_candidates` one by one, each repair made only when the ones before it failed (most replies
    parse as sent)."""
    seen: list[str] = []

    def fresh(candidate: str) -> bool:
        if candidate and candidate not in seen:
            seen.append(candidate)
            return True
        return False

    text = content.strip()
    if fresh(text):
        yield text
    originals = [text]
    fenced = FENCE.search(text)
    if fenced:
        originals.append(fenced.group(1).strip())
        if fresh(originals[-1]):
            yield originals[-1]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        originals.append(text[start : end + 1])
        if fresh(originals[-1]):
            yield originals[-1]
    for original in originals:
        repaired = TRAILING_COMMA.sub(r"\1", original)
        if fresh(repaired):
            yield repaired
    if start != -1:
        closed = close_brackets(text[start:])
        if fresh(closed):
            yield closed


def close_brackets(text: str) -> str:
    """Close the strings, arrays and objects a truncated JSON reply left open."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    repaired = text + ('"' if in_string else "")
    repaired = TRAILING_COMMA.sub(r"\1", repaired.rstrip().rstrip(","))
    return repaired + "".join(reversed(stack))
