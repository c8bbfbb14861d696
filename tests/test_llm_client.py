"""The LLM client against the fake OpenAI-compatible server: retries, repair, re-ask, cache, concurrency."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel, Field

from sftgen.llm.client import Backoff, ChatClient, LLMError
from sftgen.store import Store
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server

FAST_BACKOFF = Backoff(base_s=0.001, max_s=0.01)


class Verdict(BaseModel):
    keep: bool
    reason: str = Field(min_length=1)


def ask(server, messages_text: str = "judge this", schema=Verdict, cache=None, **client_args):
    async def go():
        client = ChatClient(server.base_url, "fake-model", backoff=FAST_BACKOFF, cache=cache, **client_args)
        try:
            return await client.complete([{"role": "user", "content": messages_text}], schema=schema), client
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_valid_reply_is_parsed_into_the_schema():
    with running_fake_server() as server:
        reply, client = ask(server)
    assert isinstance(reply.parsed, Verdict)
    assert reply.requests == 1 and not reply.cache_hit


def test_429_and_500_are_retried_until_the_request_succeeds():
    rules = [ReplyRule(contains="flaky", status=429, times=2), ReplyRule(contains="flaky", status=500, times=1)]
    with running_fake_server(FakeServerConfig(rules=rules, retry_after_s=0.01)) as server:
        reply, client = ask(server, "flaky request")
        outcomes = server.stats()["requests"]
    assert isinstance(reply.parsed, Verdict)
    assert reply.requests == 4 == outcomes
    assert client.stats.retries == 3
    assert client.stats.by_status == {"429": 2, "500": 1, "200": 1}


def test_retries_give_up_with_a_reason_after_max_retries():
    with running_fake_server(FakeServerConfig(rules=[ReplyRule(contains="down", status=503)])) as server:
        with pytest.raises(LLMError) as failure:
            ask(server, "server down", max_retries=2)
        assert server.stats()["requests"] == 3
    assert failure.value.reason == "llm_unavailable"


def test_a_client_error_is_not_retried():
    with running_fake_server(FakeServerConfig(rules=[ReplyRule(contains="bad", status=400)])) as server:
        with pytest.raises(LLMError) as failure:
            ask(server, "bad request")
        assert server.stats()["requests"] == 1
    assert failure.value.reason == "llm_request_refused"


def test_a_reply_in_a_code_fence_with_a_trailing_comma_is_repaired_without_asking_again():
    fenced = 'Sure! ```json\n{"keep": true, "reason": "on topic",}\n```'
    with running_fake_server(FakeServerConfig(rules=[ReplyRule(contains="fence", reply=fenced)])) as server:
        reply, _ = ask(server, "fence me")
        assert server.stats()["requests"] == 1
    assert reply.parsed == Verdict(keep=True, reason="on topic")


def test_a_truncated_reply_is_repaired_by_closing_its_brackets():
    truncated = '{"keep": false, "reason": "off dom'
    with running_fake_server(FakeServerConfig(rules=[ReplyRule(contains="cut", reply=truncated)])) as server:
        reply, _ = ask(server, "cut reply")
    assert reply.parsed == Verdict(keep=False, reason="off dom")


def test_an_invalid_reply_is_re_asked_with_a_different_request():
    rules = [ReplyRule(contains="schema", reply='{"verdict": "yes"}', times=1)]
    seen_bodies = []
    with running_fake_server(FakeServerConfig(rules=rules)) as server:
        server.script(lambda body: seen_bodies.append(json.dumps(body, sort_keys=True)) or None)
        reply, client = ask(server, "schema please")
    assert isinstance(reply.parsed, Verdict)
    assert reply.requests == 2 and reply.reasks == 1
    assert len(set(seen_bodies)) == 2, "the re-ask must not repeat the first request"
    assert "not usable" in seen_bodies[1]


def test_finish_reason_length_counts_as_a_failure_and_is_re_asked():
    rules = [ReplyRule(contains="long", reply='{"keep": true, "reason": "x"}', finish_reason="length", times=1)]
    with running_fake_server(FakeServerConfig(rules=rules)) as server:
        reply, _ = ask(server, "long answer")
    assert reply.requests == 2 and reply.reasks == 1


def test_replies_that_never_fit_fail_with_the_raw_replies_kept():
    rules = [ReplyRule(contains="hopeless", reply="I cannot answer in JSON.")]
    with running_fake_server(FakeServerConfig(rules=rules)) as server:
        with pytest.raises(LLMError) as failure:
            ask(server, "hopeless", max_reasks=1)
    assert failure.value.reason == "llm_invalid_output"
    assert failure.value.raw_replies == ["I cannot answer in JSON."] * 2


def test_a_cached_request_sends_nothing(tmp_path):
    store = Store(tmp_path / "store.db")
    with running_fake_server() as server:
        first, _ = ask(server, "cache me", cache=store)
        second, _ = ask(server, "cache me", cache=store)
        assert server.stats()["requests"] == 1
    assert second.cache_hit and second.requests == 0
    assert second.parsed == first.parsed
    entry = store.cache_entry(first.cache_key)
    assert entry["request"]["messages"][0]["content"] == "cache me"
    assert entry["response"]["choices"][0]["message"]["content"] == first.content


def test_the_cache_key_changes_with_messages_parameters_and_schema():
    class Other(BaseModel):
        keep: bool

    client = ChatClient("http://127.0.0.1:9/v1", "m")
    messages = [{"role": "user", "content": "a"}]
    params = {"temperature": 0.7, "max_tokens": 10, "seed": None}
    base = client.cache_key(messages, params, Verdict)
    assert base == client.cache_key(list(messages), dict(params), Verdict)
    assert base != client.cache_key([{"role": "user", "content": "b"}], params, Verdict)
    assert base != client.cache_key(messages, {**params, "temperature": 0.2}, Verdict)
    assert base != client.cache_key(messages, params, Other)
    asyncio.run(client.aclose())


def test_concurrency_stays_at_the_bound_and_every_request_is_answered():
    async def many(server):
        client = ChatClient(server.base_url, "fake-model", max_concurrency=8, backoff=FAST_BACKOFF)
        try:
            return await asyncio.gather(*(
                client.complete([{"role": "user", "content": f"item {i}"}], schema=Verdict) for i in range(60)
            ))
        finally:
            await client.aclose()

    with running_fake_server(FakeServerConfig(latency_ms=20)) as server:
        replies = asyncio.run(many(server))
        stats = server.stats()
    assert len(replies) == 60 and all(isinstance(r.parsed, Verdict) for r in replies)
    assert stats["max_in_flight"] == 8


def test_a_raw_newline_inside_a_json_string_is_accepted():
    rule = ReplyRule(contains="nl", reply='{"keep": true, "reason": "a\nb"}')
    with running_fake_server(FakeServerConfig(rules=[rule])) as server:
        reply, _ = ask(server, "nl")
    assert reply.parsed == Verdict(keep=True, reason="a\nb") and reply.requests == 1


def test_each_request_names_its_step_in_a_header_that_is_no_part_of_the_cache_key(tmp_path):
    seen_steps = []
    store = Store(tmp_path / "store.db")

    async def go():
        client = ChatClient(server.base_url, "fake-model", backoff=FAST_BACKOFF, cache=store)
        try:
            messages = [{"role": "user", "content": "judge this"}]
            first = await client.complete(messages, schema=Verdict, step="chunk_filter")
            again = await client.complete(messages, schema=Verdict, step="prompt_filter")
            return first, again
        finally:
            await client.aclose()

    try:
        with running_fake_server() as server:
            server.script_steps(lambda step, body: seen_steps.append(step) or None)
            first, again = asyncio.run(go())
    finally:
        store.close()
    assert seen_steps == ["chunk_filter"]  # the second ask, from another step, is the same request: cached
    assert again.cache_hit and again.cache_key == first.cache_key
