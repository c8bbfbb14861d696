"""One LLM path: an async client for any OpenAI-compatible chat completions server.

- at most `max_concurrency` requests in flight, each slot refilled as soon as it frees (no batch waits);
- retries with jittered exponential backoff on 429 / 5xx / timeouts / connection errors, honouring
  Retry-After up to a cap (a longer one is named in the error); a request waiting to retry does not hold a slot;
- a server that is dead or refuses every request (llm/unusable_server.py) stops the run after a few
  attempts, with one message naming llm.base_url, llm.model and the likely fix;
- `finish_reason == "length"` is a failure, and so is a reply that does not fit its schema: both are
  re-asked with a varied request (the bad reply and the error are shown to the model), never an identical one;
- a request cache keyed on (model, messages, parameters, schema); a hit sends nothing. The replies that come
  back within a few % of the requests' latency are stored in one transaction (llm/cache_writes.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import aiohttp
from pydantic import BaseModel

from sftgen.failures import RunStopped
from sftgen.llm.cache_writes import CacheWrites
from sftgen.llm.errors import LLMError, LLMUnusable
from sftgen.llm.http1.pool import HTTPPool, TransportError
from sftgen.llm.http_reply import HTTPReply, decode_json, http_error, is_completion, read_choice, retry_after
from sftgen.llm.reply import LLMReply
from sftgen.llm.request_body import cache_key, encode_body, request_body, varied_body
from sftgen.llm.retries import RETRY_AFTER_CAP_S, RETRYABLE_STATUS, UNUSABLE_AFTER, Backoff, RetryWaits
from sftgen.llm.structured import InvalidReply, parse_reply
from sftgen.llm.unusable_server import (
    KEY_REFUSED, NOT_ALLOWED, NOT_FOUND, ServerFailure, ServerSettings, UnusableServerBreaker,
    failure_of_body, failure_of_exception, failure_of_status, unusable_message,
)

__all__ = ["Backoff", "ChatClient", "ClientStats", "LLMError", "LLMReply", "LLMUnusable", "RequestCache",
           "encode_body"]

STEP_HEADER = "X-Sftgen-Step"
"""The request header naming the pipeline step that asks."""

log = logging.getLogger("sftgen.llm")


class RequestCache(Protocol):
    def cache_get(self, key: str) -> dict[str, Any] | None: ...
    def cache_put(self, key: str, model: str, request: dict | bytes, response: dict | bytes, usage: dict) -> None: ...


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    reasks: int = 0
    cache_hits: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class ChatClient:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = 32,
        timeout_s: float = 120,
        max_retries: int = 6,
        max_reasks: int = 2,
        structured_output: str = "json_schema",
        cache: RequestCache | None = None,
        backoff: Backoff | None = None,
        api_key_env: str | None = None,
        retry_after_cap_s: float = RETRY_AFTER_CAP_S,
        unusable_after: int = UNUSABLE_AFTER,
        model_identity: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_identity = model_identity or model
        """What the cache key names the model by: the name sent, or more (the embedded GGUF's content hash)."""
        self.max_retries = max_retries
        self.max_reasks = max_reasks
        self.structured_output = structured_output
        self.cache = cache
        self.cache_writes = CacheWrites()
        self.backoff = backoff or Backoff()
        self.stats = ClientStats()
        self.slots = asyncio.Semaphore(max_concurrency)
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http: aiohttp.ClientSession | None = None  # made on first use, inside the running loop
        self.plain_http: HTTPPool | None = None  # for an http:// server, in place of aiohttp
        self.unusable: RunStopped | None = None
        self.unusable_event = asyncio.Event()
        self.retry_after_cap_s = retry_after_cap_s
        self.breaker = UnusableServerBreaker(unusable_after)
        self.server_settings = ServerSettings(self.base_url, model, timeout_s, api_key_env, bool(api_key))
        self.capped_retry_after_logged = False

    def session(self) -> aiohttp.ClientSession:
        # aiohttp, not httpx: httpcore's pool rescans every connection for every queued request, which
        # cost 5-12 ms of CPU per request at 64-256 in flight (bench/llm_throughput.py); aiohttp's costs
        # well under 1 ms.
        if self.http is None or self.http.closed:
            self.http = aiohttp.ClientSession(
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s, connect=min(self.timeout_s, 10)),
                connector=aiohttp.TCPConnector(limit=self.max_concurrency),
            )
        return self.http

    def give_up(self, error: RunStopped) -> None:
        """From now on every request of this client raises `error` at once, waiting ones included."""
        if self.unusable is None:
            self.unusable = error
            self.unusable_event.set()

    def raise_if_unusable(self) -> None:
        if self.unusable is not None:
            raise self.unusable

    async def pause(self, seconds: float) -> None:
        """Sleep before a retry, but wake at once when the client gives up."""
        try:
            await asyncio.wait_for(self.unusable_event.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass
        self.raise_if_unusable()

    def pool(self) -> HTTPPool:
        if self.plain_http is None or self.plain_http.closed:
            # no limit of the pool's own: `post` sends only while it holds one of the client's slots
            self.plain_http = HTTPPool(self.base_url, self.headers, self.timeout_s, min(self.timeout_s, 10), None)
        return self.plain_http

    async def aclose(self) -> None:
        self.cache_writes.flush()
        if self.http is not None:
            await self.http.close()
        if self.plain_http is not None:
            self.plain_http.close()

    # ---- the public call -----------------------------------------------------------------------

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: type[BaseModel] | None = None,
        temperature: float = 0.7,
        max_tokens: int = 512,
        seed: int | None = None,
        step: str | None = None,
    ) -> LLMReply:
        """`step` names the pipeline step asking, sent as the X-Sftgen-Step header (logs, test fakes); it is
        no part of the request body, so none of the cache key."""
        params = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        headers = {STEP_HEADER: step} if step else {}
        body = self.request_body(messages, params, schema)
        encoded: dict[int, str] = {}  # each message's text as JSON, written once for the key and the bodies
        key = cache_key(self.model_identity, messages, params, schema, self.structured_output, encoded)
        cached = self.from_cache(key, schema)
        if cached is not None:
            return cached
        reply = LLMReply(content="", parsed=None, cache_key=key, cache_hit=False)
        failures: list[str] = []
        raw_replies: list[str] = []
        for reask in range(self.max_reasks + 1):
            attempt_body = body if reask == 0 else self.varied_body(body, raw_replies[-1], failures[-1], reask)
            sent = encode_body(attempt_body, encoded)  # once: posted as is (retries too) and stored as is
            response, received = await self.post(sent, reply, headers)
            release: Callable[[], None] | None = self.slots.release
            try:  # the request's slot is held until its reply is stored or refused (see `post`)
                content, finish_reason = read_choice(response)
                raw_replies.append(content)
                if finish_reason == "length":
                    failures.append("the reply was cut off at max_tokens (finish_reason 'length')")
                    continue
                try:
                    reply.parsed = parse_reply(content, schema) if schema else None
                except InvalidReply as exc:
                    failures.append(f"the reply {exc}")
                    continue
                reply.content = content
                reply.reasks = reask
                if self.cache is not None:
                    # the reply's bytes as received: the same JSON value, and not encoded again to be stored
                    row = (key, self.model, sent, received, response.get("usage") or {})
                    stored, release = self.cache_writes.put(self.cache, row, release, self.stats.in_flight), None
                    try:
                        await stored
                    except asyncio.CancelledError:  # the run stops: what was answered is stored now
                        self.cache_writes.flush()
                        raise
                return reply
            finally:
                if release is not None:
                    release()
        self.stats.failures += 1
        reason = "llm_length" if failures[-1].startswith("the reply was cut off") else "llm_invalid_output"
        raise LLMError(reason, f"{len(failures)} replies failed; last: {failures[-1]}", raw_replies, spent=reply)

    # ---- requests ------------------------------------------------------------------------------

    def request_body(
        self, messages: list[dict[str, str]], params: dict[str, Any], schema: type[BaseModel] | None
    ) -> dict[str, Any]:
        return request_body(self.model, messages, params, schema, self.structured_output)

    def cache_key(self, messages: list[dict[str, str]], params: dict[str, Any], schema: type[BaseModel] | None) -> str:
        return cache_key(self.model_identity, messages, params, schema, self.structured_output)

    def varied_body(self, body: dict[str, Any], bad_reply: str, failure: str, reask: int) -> dict[str, Any]:
        return varied_body(body, bad_reply, failure, reask)

    async def post(self, body: bytes, reply: LLMReply, headers: dict[str, str] | None = None,
                   ) -> tuple[dict[str, Any], bytes]:
        """POST with retries; counts every request sent and the tokens used into `reply`. Returns the
        completion and the JSON bytes it was read from, still holding its request slot: the caller releases
        it (`self.slots.release()`) once the reply is stored or refused, so that at most `max_concurrency`
        replies are ever unstored (a crash re-sends no more). A request waiting to retry holds no slot."""
        last_error, last_failure = "", None
        waits = RetryWaits()
        for attempt in range(self.max_retries + 1):
            self.raise_if_unusable()
            failure: ServerFailure | None = None
            await self.slots.acquire()
            try:
                self.raise_if_unusable()
                self.stats.in_flight += 1
                sent_at = time.monotonic()
                try:
                    response = await self.send(body, headers)
                except (asyncio.TimeoutError, aiohttp.ClientError, TransportError) as exc:
                    response = None
                    failure = failure_of_exception(exc)
                finally:
                    self.stats.in_flight -= 1
                    self.stats.requests += 1
                    reply.requests += 1
                if response is not None and response.status_code == 200:
                    payload = decode_json(response)
                    if payload is not None and is_completion(payload):
                        self.count_status(200)
                        self.breaker.saw_completion()
                        self.cache_writes.saw_latency(time.monotonic() - sent_at)
                        self.count_usage(payload, reply)
                        return payload, response.content  # the slot goes with it
            except BaseException:
                self.slots.release()
                raise
            self.slots.release()
            if response is not None:
                status = response.status_code
                self.count_status(status)
                if status == 200:
                    failure = failure_of_body(response.content, payload)
                else:
                    self.breaker.saw_answer()
                    failure = failure_of_status(status, response.text)
                    if failure is None and status not in RETRYABLE_STATUS:
                        raise LLMError("llm_request_refused", f"HTTP {status}: {response.text[:500]}", spent=reply)
                    if failure is None:
                        last_error = http_error(response)
            if failure is not None:
                last_error, last_failure = failure.what, failure
                if self.breaker.saw_failure(failure):
                    self.stop_using(failure)
            if attempt == self.max_retries:
                break
            self.stats.retries += 1
            await self.pause(self.retry_wait(response, attempt, waits))
        refused = last_failure is not None and last_failure.kind in (KEY_REFUSED, NOT_FOUND, NOT_ALLOWED)
        detail = f"gave up after {self.max_retries + 1} attempts; last: {last_error}"
        detail += waits.note(self.retry_after_cap_s)
        raise LLMError("llm_request_refused" if refused else "llm_unavailable", detail, spent=reply)

    def retry_wait(self, response: HTTPReply | None, attempt: int, waits: RetryWaits) -> float:
        """Retry-After when the server sends one (up to the cap), else jittered backoff."""
        asked = retry_after(response)
        if asked is None:
            wait = self.backoff.delay(attempt)
        else:
            wait = min(asked, self.retry_after_cap_s)
            if asked > self.retry_after_cap_s:
                waits.longest_asked_s = max(waits.longest_asked_s, asked)
                if not self.capped_retry_after_logged:
                    self.capped_retry_after_logged = True
                    log.warning("the LLM server asked to wait %g s (Retry-After); sftgen waits at most %g s per "
                                "retry", asked, self.retry_after_cap_s)
        waits.waited_s += wait
        return wait

    def stop_using(self, failure: ServerFailure) -> NoReturn:
        """The breaker tripped: every request of this client now raises one LLMUnusable."""
        error = LLMUnusable(unusable_message(failure, self.breaker.in_a_row, self.server_settings))
        if self.unusable is None:
            log.error("%s", error.message)
        self.give_up(error)
        raise self.unusable or error

    async def send(self, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> HTTPReply:
        data = body if isinstance(body, bytes) else encode_body(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
        if self.base_url.startswith("http://"):
            reply = await self.pool().post("/chat/completions", data, headers)
            return HTTPReply(reply.status, reply.headers, reply.body)
        async with self.session().post(self.base_url + "/chat/completions", data=data, headers=headers) as response:
            return HTTPReply(response.status, response.headers, await response.read())

    def from_cache(self, key: str, schema: type[BaseModel] | None) -> LLMReply | None:
        if self.cache is None:
            return None
        response = self.cache.cache_get(key)
        if response is None:
            return None
        content, _ = read_choice(response)
        try:
            parsed = parse_reply(content, schema) if schema else None
        except InvalidReply:
            return None  # the schema changed under the same key's content: ask again
        self.stats.cache_hits += 1
        return LLMReply(content=content, parsed=parsed, cache_key=key, cache_hit=True)

    def count_status(self, status: int) -> None:
        self.stats.by_status[str(status)] = self.stats.by_status.get(str(status), 0) + 1

    def count_usage(self, payload: dict[str, Any], reply: LLMReply) -> None:
        usage = payload.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        reply.prompt_tokens += prompt
        reply.completion_tokens += completion
        self.stats.prompt_tokens += prompt
        self.stats.completion_tokens += completion
