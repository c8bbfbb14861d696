"""What the fake server answers: deterministic fault draws, latencies, contents and usage.

Everything random comes from RNGs seeded by hashes, so the same config seed and request body give
the same content, and the same (body, attempt number) gives the same fault decision.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from tests.fakes.fake_config import FakeServerConfig, ReplyRule
from tests.fakes.schema_instances import DEFAULT_WORDS, instance_for_schema

WORD_PATTERN = re.compile(r"[^\W\d_][\w'-]*")
TOKENS_PER_WORD = 1.3

OK, TOO_MANY_REQUESTS, SERVER_ERROR, TIMEOUT, MALFORMED, LENGTH = (
    "ok", "429", "500", "timeout", "malformed", "length",
)
OUTCOMES = (OK, TOO_MANY_REQUESTS, SERVER_ERROR, TIMEOUT, MALFORMED, LENGTH)


@dataclass(frozen=True)
class ParsedRequest:
    body: dict[str, Any]
    body_digest: str  # sha256 of the canonical body: the identity of "the same request"
    message_text: str  # all message contents joined, what rules match against
    user_words: list[str]
    step: str | None = None  # the X-Sftgen-Step header: which pipeline step asks

    @classmethod
    def from_body(cls, body: dict[str, Any], step: str | None = None) -> ParsedRequest:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        messages = body.get("messages") or []
        return cls(
            body=body,
            body_digest=hashlib.sha256(canonical.encode()).hexdigest(),
            message_text="\n".join(_content_text(m.get("content")) for m in messages),
            user_words=_words_of(m for m in messages if m.get("role") == "user"),
            step=step,
        )

    @property
    def response_schema(self) -> dict[str, Any] | None:
        return response_schema_of(self.body.get("response_format"))

    @property
    def model(self) -> str | None:
        return self.body.get("model")


def seeded_rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def response_schema_of(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema asked for: OpenAI `json_schema` style, or llama.cpp `json_object` + `schema`."""
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
    if response_format.get("type") == "json_object":
        return response_format.get("schema") or {"type": "object"}
    return None


# --- faults and latency --------------------------------------------------------------------------

def draw_outcome(config: FakeServerConfig, rng: random.Random) -> str:
    """One uniform draw against the cumulative fault rates; the rest is "ok"."""
    draw = rng.random()
    threshold = 0.0
    for outcome, rate in (
        (TOO_MANY_REQUESTS, config.rate_429),
        (SERVER_ERROR, config.rate_500),
        (TIMEOUT, config.rate_timeout),
        (MALFORMED, config.rate_malformed),
        (LENGTH, config.rate_length),
    ):
        threshold += rate
        if draw < threshold:
            return outcome
    return OK


def draw_latency_s(config: FakeServerConfig, rng: random.Random, completion_tokens: int) -> float:
    if config.latency_kind == "lognormal":
        base_ms = config.latency_ms * math.exp(config.latency_sigma * rng.gauss(0.0, 1.0))
    elif config.latency_kind == "uniform":
        base_ms = rng.uniform(config.latency_min_ms, config.latency_max_ms)
    else:
        base_ms = config.latency_ms
    return max(0.0, base_ms + config.latency_per_token_ms * completion_tokens) / 1000.0


# --- content -------------------------------------------------------------------------------------

def generated_content(request: ParsedRequest, seed: int) -> str:
    """A JSON instance of the requested schema, or plain prose, built from the user's words."""
    rng = seeded_rng("content", seed, request.body_digest)
    words = content_words(request.user_words)
    schema = request.response_schema
    if schema is not None:
        return json.dumps(instance_for_schema(schema, rng, words), ensure_ascii=False)
    return prose(rng, words)


def content_words(user_words: list[str]) -> list[str]:
    """The user's words, without the short ones ("a", "of", "the") when enough others remain."""
    longer = [w for w in user_words if len(w) > 3]
    return longer if len(set(longer)) >= 3 else (user_words or list(DEFAULT_WORDS))


def prose(rng: random.Random, words: list[str]) -> str:
    sentences = []
    for _ in range(rng.randint(2, 4)):
        picked = [rng.choice(words) for _ in range(rng.randint(6, 14))]
        sentences.append(" ".join(picked).capitalize() + ".")
    return " ".join(sentences)


def truncated(content: str) -> str:
    return content[: max(1, len(content) // 2)]


def broken_json(content: str) -> str:
    """The first half of the content, made sure not to parse as JSON."""
    half = truncated(content)
    try:
        json.loads(half)
    except ValueError:
        return half
    return half + ",}"


def matching_rule(rules: list[ReplyRule], uses: list[int], message_text: str) -> ReplyRule | None:
    """The first rule whose substring occurs and whose `times` is not used up; counts the use."""
    for index, rule in enumerate(rules):
        if rule.contains in message_text and (rule.times is None or uses[index] < rule.times):
            uses[index] += 1
            return rule
    return None


# --- response bodies -----------------------------------------------------------------------------

def estimated_tokens(text: str) -> int:
    return max(1, round(len(text.split()) * TOKENS_PER_WORD))


def completion_body(
    request: ParsedRequest, content: str, finish_reason: str, attempt: int, created: int, model: str
) -> dict[str, Any]:
    prompt_tokens = estimated_tokens(request.message_text)
    completion_tokens = estimated_tokens(content)
    if finish_reason == "length" and request.body.get("max_tokens"):
        completion_tokens = int(request.body["max_tokens"])
    return {
        "id": f"chatcmpl-{request.body_digest[:24]}-{attempt}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 404: "not_found_error", 429: "rate_limit_error"}.get(
        status, "server_error"
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _content_text(content: Any) -> str:
    """Message content is a string or a list of parts such as {"type": "text", "text": ...}."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _words_of(messages: Any) -> list[str]:
    words: list[str] = []
    for message in messages:
        words.extend(WORD_PATTERN.findall(_content_text(message.get("content"))))
    return words
