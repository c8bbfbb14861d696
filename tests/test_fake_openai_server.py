"""Behaviour of the fake OpenAI-compatible server used by the tests and benchmarks."""

from __future__ import annotations

import asyncio
import datetime
import enum
import json
import random
import uuid
from typing import Annotated, Literal, Optional, Union

import httpx
import pytest
from pydantic import BaseModel, Field, HttpUrl

from tests.fakes.fake_config import FakeServerConfig, build_arg_parser, config_from_args
from tests.fakes.fake_openai_server import running_fake_server, spawn_fake_server
from tests.fakes.schema_instances import instance_for_schema


class Difficulty(str, enum.Enum):
    easy = "easy"
    hard = "hard"


class Citation(BaseModel):
    url: str = Field(min_length=5, max_length=200)
    passage_index: int = Field(ge=0, le=9)


class Answer(BaseModel):
    kind: Literal["answer"]
    tone: Literal["formal", "casual"]
    difficulty: Difficulty
    text: str = Field(min_length=40, max_length=120)
    score: float = Field(gt=0, lt=1)
    keep: bool
    reason: Optional[str] = None
    tags: list[Annotated[str, Field(max_length=12)]] = Field(min_length=2, max_length=4)
    citations: list[Citation]
    counts: dict[str, int]


class TreeNode(BaseModel):
    label: str
    children: list["TreeNode"] = []
    parent: Optional["TreeNode"] = None


class Cat(BaseModel):
    pet_type: Literal["cat"]
    lives: int = Field(ge=1, le=9)


class Dog(BaseModel):
    pet_type: Literal["dog"]
    bark: float = Field(ge=0.5, le=0.6, multiple_of=0.05)


class Unusual(BaseModel):
    pet: Annotated[Union[Cat, Dog], Field(discriminator="pet_type")]
    when: datetime.datetime
    uid: uuid.UUID
    link: HttpUrl
    digits: str = Field(pattern=r"^\d{3}$")
    pair: tuple[int, str]
    unique: set[Literal["a", "b", "c"]] = Field(min_length=2)
    sevens: list[Annotated[int, Field(multiple_of=7, ge=10, le=50)]]
    level: Literal[1, 2, 3]
    narrow: float = Field(gt=0.1, lt=0.2)
    lists: dict[str, list[int]]
    long_text: str = Field(min_length=300)


def chat_body(text: str, schema: dict | None = None, style: str = "openai") -> dict:
    body: dict = {"model": "fake-model", "messages": [{"role": "user", "content": text}]}
    if schema is not None and style == "openai":
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
    elif schema is not None:
        body["response_format"] = {"type": "json_object", "schema": schema}
    return body


def post_chat(client: httpx.Client, body: dict) -> httpx.Response:
    return client.post("/chat/completions", json=body)


def content_of(response: httpx.Response) -> str:
    return response.json()["choices"][0]["message"]["content"]


async def post_many(base_url: str, bodies: list[dict], connections: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        return await asyncio.gather(*(client.post("/chat/completions", json=b) for b in bodies))


@pytest.fixture(scope="module")
def server():
    with running_fake_server(FakeServerConfig(seed=7)) as running:
        yield running


@pytest.fixture
def fresh(server):
    """The shared server with default behaviour and zeroed stats."""
    server.set_config(FakeServerConfig(seed=7))
    server.clear_scripts()
    server.reset()
    return server


@pytest.fixture
def client(fresh):
    with httpx.Client(base_url=fresh.base_url, timeout=10) as http:
        yield http


@pytest.mark.parametrize("style", ["openai", "llama_cpp"])
def test_structured_reply_validates_against_the_pydantic_schema(client, style):
    for topic in ("tidal energy in Norway", "sourdough fermentation", "medieval bridge building"):
        body = chat_body(f"Explain {topic} for engineers", Answer.model_json_schema(), style)
        response = post_chat(client, body)
        answer = Answer.model_validate_json(content_of(response))
        assert response.json()["choices"][0]["finish_reason"] == "stop"
        assert len(answer.text) >= 40


def test_recursive_and_nullable_schemas_get_valid_instances():
    schema = TreeNode.model_json_schema()
    for seed in range(30):
        instance = instance_for_schema(schema, random.Random(seed), ["oak", "pine", "birch"])
        TreeNode.model_validate(instance)


def test_unusual_pydantic_constructs_get_valid_instances():
    schema = Unusual.model_json_schema()
    for seed in range(40):
        instance = instance_for_schema(schema, random.Random(seed), ["alpha", "Beta", "d"])
        Unusual.model_validate_json(json.dumps(instance))


def test_const_enum_and_any_of_are_honoured():
    only_five = {"type": "integer", "minimum": 5, "maximum": 5}
    properties = {"a": {"const": 42}, "b": {"enum": ["x", "y"]}, "c": {"anyOf": [only_five, {"type": "null"}]}}
    schema = {"type": "object", "required": ["a", "b", "c"], "properties": properties}
    instance = instance_for_schema(schema, random.Random(1), ["w"])
    assert instance["a"] == 42 and instance["b"] in ("x", "y") and instance["c"] == 5


def test_strings_are_built_from_the_user_words(client):
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
    reply = post_chat(client, chat_body("glaciers calving icebergs", schema))
    summary = json.loads(content_of(reply))["summary"]
    assert set(summary.split()) <= {"glaciers", "calving", "icebergs"}


def test_same_request_same_reply_and_different_requests_differ(client):
    first = content_of(post_chat(client, chat_body("volcanic soils and vineyards")))
    again = content_of(post_chat(client, chat_body("volcanic soils and vineyards")))
    other = content_of(post_chat(client, chat_body("coral reef restoration methods")))
    assert first == again
    assert first != other


def test_fault_counts_roughly_match_the_rates(fresh):
    rates = {"rate_429": 0.2, "rate_500": 0.1, "rate_malformed": 0.1, "rate_length": 0.1}
    fresh.set_config(rates)
    bodies = [chat_body(f"request number {i}") for i in range(400)]
    responses = asyncio.run(post_many(fresh.base_url, bodies, connections=8))
    outcomes = fresh.stats()["outcomes"]
    for outcome, rate in (("429", 0.2), ("500", 0.1), ("malformed", 0.1), ("length", 0.1), ("ok", 0.5)):
        expected = 400 * rate
        assert abs(outcomes[outcome] - expected) < 4 * (expected * (1 - rate)) ** 0.5 + 1, (outcome, outcomes)
    assert sum(r.status_code == 429 for r in responses) == outcomes["429"]
    finish_reasons = [r.json()["choices"][0]["finish_reason"] for r in responses if r.status_code == 200]
    assert finish_reasons.count("length") == outcomes["length"]


def test_a_retry_of_the_same_body_can_succeed_and_attempts_replay_after_reset(client, fresh):
    fresh.set_config(rate_500=0.5)
    candidates = (chat_body(f"retry me {i}") for i in range(50))
    body = next(b for b in candidates if post_chat(client, b).status_code == 500)
    statuses = [500] + [post_chat(client, body).status_code for _ in range(15)]
    assert 200 in statuses
    fresh.reset()
    assert [post_chat(client, body).status_code for _ in range(16)] == statuses


def test_rate_limited_replies_carry_retry_after(client, fresh):
    fresh.set_config(rate_429=1.0, retry_after_s=0.05)
    response = post_chat(client, chat_body("anything"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0.05"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_malformed_replies_are_broken_json(client, fresh):
    fresh.set_config(rate_malformed=1.0)
    content = content_of(post_chat(client, chat_body("pick a fruit", Citation.model_json_schema())))
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)


def test_timeout_drops_or_answers_late(client, fresh):
    fresh.set_config(rate_timeout=1.0, timeout_hold_s=0.05, timeout_mode="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        post_chat(client, chat_body("hang"))
    fresh.set_config(timeout_mode="late")
    assert post_chat(client, chat_body("hang again")).status_code == 200
    assert fresh.stats()["outcomes"]["timeout"] == 2


def test_rule_with_times_scripts_first_malformed_then_valid(client, fresh):
    fresh.set_config(rules=[{"contains": "fruit", "reply": '{"url": "htt', "times": 1}])
    body = chat_body("pick a fruit", Citation.model_json_schema())
    assert content_of(post_chat(client, body)) == '{"url": "htt'
    Citation.model_validate_json(content_of(post_chat(client, body)))
    assert fresh.stats()["scripted"] == 1


def test_rule_can_force_a_status(client, fresh):
    fresh.set_config(rules=[{"contains": "boom", "status": 500}])
    assert post_chat(client, chat_body("say boom")).status_code == 500
    assert post_chat(client, chat_body("say hello")).status_code == 200
    assert fresh.stats()["outcomes"]["500"] == 1


def test_rule_without_reply_keeps_generated_content_cut_by_length(client, fresh):
    fresh.set_config(rules=[{"contains": "", "finish_reason": "length", "times": 1}])
    body = chat_body("describe the tides")
    cut = post_chat(client, body).json()["choices"][0]
    whole = post_chat(client, body).json()["choices"][0]
    assert (cut["finish_reason"], whole["finish_reason"]) == ("length", "stop")
    assert whole["message"]["content"].startswith(cut["message"]["content"])
    assert fresh.stats()["outcomes"]["length"] == 1


def test_python_script_overrides_generation(client, fresh):
    fresh.script(lambda request: "scripted!" if "magic" in request["messages"][-1]["content"] else None)
    assert content_of(post_chat(client, chat_body("the magic word"))) == "scripted!"
    assert content_of(post_chat(client, chat_body("a plain word"))) != "scripted!"


def test_three_hundred_concurrent_requests_are_all_answered(fresh):
    # The latency keeps requests open so that many overlap; the assertions count, they do not time.
    fresh.set_config(latency_ms=300)
    responses = asyncio.run(post_many(fresh.base_url, [chat_body(f"parallel {i}") for i in range(300)], 300))
    assert [r.status_code for r in responses] == [200] * 300
    stats = fresh.stats()
    assert stats["requests"] == 300 and stats["outcomes"]["ok"] == 300
    assert stats["max_in_flight"] > 1


def test_stats_count_and_reset_zeroes_them(client, fresh):
    for i in range(3):
        post_chat(client, chat_body(f"count {i}"))
    stats = fresh.stats()
    assert stats["requests"] == 3 and stats["outcomes"]["ok"] == 3 and stats["completion_tokens"] > 0
    assert fresh.reset()["requests"] == 0


def test_models_and_bad_config_are_answered(client, fresh):
    assert client.get("/models").json()["data"][0]["id"] == "fake-model"
    refused = httpx.post(fresh.root_url + "/config", json={"rate_429": 2.0})
    assert refused.status_code == 400
    assert httpx.post(fresh.root_url + "/config", json={"no_such_key": 1}).status_code == 400


def test_openai_client_retries_a_scripted_429_and_parses_the_reply(fresh):
    openai = pytest.importorskip("openai")
    fresh.set_config(rules=[{"contains": "capital", "status": 429, "times": 1}], retry_after_s=0.01)
    client = openai.OpenAI(base_url=fresh.base_url, api_key="unused", max_retries=2)
    completion = client.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "the capital of Peru"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "c", "schema": Citation.model_json_schema()},
        },
    )
    Citation.model_validate_json(completion.choices[0].message.content)
    usage = completion.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert fresh.stats()["outcomes"]["429"] == 1


def test_cli_flags_override_the_json_config():
    argv = ["--config-json", '{"rate_500": 0.3, "seed": 3}', "--rate-429", "0.1"]
    args = build_arg_parser().parse_args(argv)
    config = config_from_args(args)
    assert (config.rate_429, config.rate_500, config.seed) == (0.1, 0.3, 3)


def test_subprocess_server_reports_its_port_and_serves():
    with spawn_fake_server(FakeServerConfig(rules=[{"contains": "ping", "reply": "pong"}])) as process:
        response = httpx.post(process.base_url + "/chat/completions", json=chat_body("ping"))
        assert content_of(response) == "pong"
        process.set_config(rate_500=1.0)
        assert httpx.post(process.base_url + "/chat/completions", json=chat_body("x")).status_code == 500
        assert process.stats()["requests"] == 2
    assert process.process.poll() is not None
