"""What is sent for a chat request and what it is cached under: the body (its JSON written with the schema's
part made once per schema), the cache key, and the varied body of a re-ask."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from sftgen.llm.structured import response_format, schema_instructions

BODY_JSON = json.JSONEncoder(ensure_ascii=False)
"""`json.dumps(value, ensure_ascii=False)`, without making an encoder per call."""
encode_string = json.encoder.encode_basestring
"""One string as `json.dumps(text, ensure_ascii=False)` writes it (C-accelerated)."""
CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
"""`json.dumps` as `stable_hash` calls it, without making an encoder per call."""


def encode_body(body: dict[str, Any], encoded: dict[int, str] | None = None) -> bytes:
    """The body's JSON, as `json.dumps(body, ensure_ascii=False)` writes it. A `response_format` made by
    `cached_response_format` (the body's last key) is written once per schema, not once per request; the
    texts of the messages are written once per request (`encoded`, shared with `cache_key`)."""
    fmt = body.get("response_format")
    held = FORMATS_JSON.get(id(fmt)) if fmt is not None else None
    fmt_json = held[1] if held is not None and held[0] is fmt and next(reversed(body)) == "response_format" else None
    messages = None
    names = list(body)
    if names[:2] == ["model", "messages"] and type(body["model"]) is str and type(body["messages"]) is list:
        messages = messages_json(body["messages"], {} if encoded is None else encoded, canonical=False)
    skipped = (("model", "messages") if messages is not None else ()) + (("response_format",) if fmt_json else ())
    text = BODY_JSON.encode({name: body[name] for name in names if name not in skipped})
    if messages is not None:
        text = f'{{"model": {encode_string(body["model"])}, "messages": {messages}' + (
            "}" if text == "{}" else ", " + text[1:])
    if fmt_json is not None:
        text = ("{" if text == "{}" else text[:-1] + ", ") + f'"response_format": {fmt_json}}}'
    return text.encode("utf-8")


def messages_json(messages: list[Any], encoded: dict[int, str], canonical: bool) -> str | None:
    """Chat messages (dicts of a `role` then a `content` string) as `json.dumps` writes them: for the body
    (`ensure_ascii=False`) or, `canonical`, for the cache key (keys sorted, no spaces). Each text is encoded
    once per request: `encoded` holds them by `id` (the texts are alive while the request is made). None
    for any other shape of message: the caller encodes the whole value."""
    parts = []
    for message in messages:
        if type(message) is not dict or len(message) != 2:
            return None
        role, content = message.get("role"), message.get("content")
        if type(role) is not str or type(content) is not str or (not canonical and next(iter(message)) != "role"):
            return None
        text = encoded.get(id(content))
        if text is None:
            text = encoded[id(content)] = encode_string(content)
        if canonical:
            parts.append(f'{{"content":{text},"role":{encode_string(role)}}}')
        else:
            parts.append(f'{{"role": {encode_string(role)}, "content": {text}}}')
    return "[" + ("," if canonical else ", ").join(parts) + "]"


def canonical_json(value: Any) -> str:
    """JSON as `stable_hash` writes it."""
    return CANONICAL_JSON.encode(value)


def request_body(model: str, messages: list[dict[str, str]], params: dict[str, Any],
                 schema: type[BaseModel] | None, structured_output: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": list(messages)}
    body.update({k: v for k, v in params.items() if v is not None})
    if schema is not None:
        fmt = cached_response_format(schema, structured_output)
        if fmt is not None:
            body["response_format"] = fmt
        else:
            body["messages"] = with_instructions(body["messages"], cached_schema_instructions(schema))
    return body


def cache_key(model_identity: str, messages: list[dict[str, str]], params: dict[str, Any],
              schema: type[BaseModel] | None, structured_output: str, encoded: dict[int, str] | None = None) -> str:
    """`stable_hash(model identity, messages, params, the schema's JSON schema, structured output mode)`,
    the schema's part written once per schema, the messages' texts once per request (`encoded`, shared with
    `encode_body`) (tests/test_llm_request_bytes.py)."""
    written = messages_json(messages, {} if encoded is None else encoded, canonical=True)
    if written is None:
        head = canonical_json((model_identity, messages, params))[:-1]
    else:
        head = f"[{canonical_json(model_identity)},{written},{canonical_json(params)}"
    payload = f"{head},{canonical_schema(schema) if schema else 'null'},{canonical_json(structured_output)}]"
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=20).hexdigest()


def varied_body(body: dict[str, Any], bad_reply: str, failure: str, reask: int) -> dict[str, Any]:
    """A re-ask differs from the first ask: it shows the bad reply and the error, and samples differently."""
    varied = dict(body)
    varied["messages"] = [
        *body["messages"],
        {"role": "assistant", "content": bad_reply[:4000]},
        {"role": "user", "content": f"That reply was not usable: {failure}. Answer again, following the "
                                    "required format exactly."},
    ]
    varied["temperature"] = min(1.0, float(body.get("temperature", 0.7)) + 0.2 * reask)
    varied["seed"] = int(body.get("seed") or 0) + 1000 * reask
    if "cut off" in failure:
        varied["max_tokens"] = int(body.get("max_tokens", 512)) * 2
    return varied


def with_instructions(messages: list[dict[str, str]], instructions: str) -> list[dict[str, str]]:
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + "\n\n" + instructions}, *messages[1:]]
    return [{"role": "system", "content": instructions}, *messages]


@lru_cache(maxsize=256)
def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """pydantic rebuilds a JSON schema on every call (about 1 ms); a schema class does not change in a run."""
    return schema.model_json_schema()


@lru_cache(maxsize=256)
def canonical_schema(schema: type[BaseModel]) -> str:
    return canonical_json(json_schema_of(schema))


FORMATS_JSON: dict[int, tuple[dict[str, Any], str]] = {}
"""id -> (a response_format made by `cached_response_format`, its JSON): held here, so no id is reused."""


@lru_cache(maxsize=256)
def cached_response_format(schema: type[BaseModel], mode: str) -> dict[str, Any] | None:
    fmt = response_format(schema, mode)
    if fmt is not None:
        FORMATS_JSON[id(fmt)] = (fmt, json.dumps(fmt, ensure_ascii=False))
    return fmt


@lru_cache(maxsize=256)
def cached_schema_instructions(schema: type[BaseModel]) -> str:
    return schema_instructions(schema)
