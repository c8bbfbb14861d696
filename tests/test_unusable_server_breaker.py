"""The client's breaker on unusable servers, request by request: what counts, what starts the count again,
what it does once it trips."""

from __future__ import annotations

import asyncio

from aiohttp import web

from sftgen.llm.client import Backoff, ChatClient, LLMError, LLMUnusable
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server
from tests.support.odd_llm_servers import odd_server

FAST_BACKOFF = Backoff(base_s=0.001, max_s=0.01)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def outcome(client: ChatClient, text: str) -> str:
    """'ok', or the reason the request failed for good, or 'stopped' once the client gave up."""
    try:
        await client.complete(user(text))
    except LLMUnusable:
        return "stopped"
    except LLMError as error:
        return error.reason
    return "ok"


def test_a_successful_completion_between_refusals_starts_the_count_again():
    async def go(server):
        client = ChatClient(server.base_url, "fake-model", max_retries=0, backoff=FAST_BACKOFF)
        try:
            seen = [await outcome(client, f"refuse {i}") for i in range(5)]
            seen.append(await outcome(client, "fine"))
            seen += [await outcome(client, f"refuse again {i}") for i in range(6)]
            before = server.stats()["requests"]
            seen.append(await outcome(client, "fine after the stop"))
            return seen, server.stats()["requests"] - before
        finally:
            await client.aclose()

    with running_fake_server(FakeServerConfig(rules=[ReplyRule(contains="refuse", status=401)])) as server:
        seen, sent_after_stop = asyncio.run(go(server))
    assert seen == ["llm_request_refused"] * 5 + ["ok"] + ["llm_request_refused"] * 5 + ["stopped", "stopped"]
    assert sent_after_stop == 0, "once stopped, a request raises at once without being sent"


def test_timeouts_of_a_server_that_has_answered_are_slowness_not_a_stop():
    answered = [0]

    async def slow_after_the_first(request: web.Request) -> web.Response:
        answered[0] += 1
        if 2 <= answered[0] <= 13:  # twelve timeouts in a row, twice what would stop a server that never answered
            await asyncio.sleep(5)
        return web.json_response({"choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}]})

    async def go(server):
        client = ChatClient(server.base_url, "m", max_concurrency=4, timeout_s=0.3, max_retries=6,
                            backoff=FAST_BACKOFF)
        try:
            first = await outcome(client, "first")
            return [first, *await asyncio.gather(*(outcome(client, f"later {i}") for i in range(4)))]
        finally:
            await client.aclose()

    with odd_server(slow_after_the_first) as server:
        assert asyncio.run(go(server)) == ["ok"] * 5
    assert answered[0] > 13, "the twelve slow requests timed out and were retried"


def test_429s_without_end_do_not_stop_the_client():
    async def go(server):
        client = ChatClient(server.base_url, "m", max_concurrency=4, max_retries=3, backoff=FAST_BACKOFF)
        try:
            return await asyncio.gather(*(outcome(client, f"busy {i}") for i in range(8)))
        finally:
            await client.aclose()

    busy = ReplyRule(contains="busy", status=429)
    with running_fake_server(FakeServerConfig(rules=[busy], retry_after_s=0.001)) as server:
        assert asyncio.run(go(server)) == ["llm_unavailable"] * 8  # 32 refusals in a row, no stop
