"""The aiohttp application of the fake OpenAI-compatible server: state, stats and HTTP handlers."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.fake_config import FakeServerConfig
from tests.fakes.fake_replies import (
    LENGTH, MALFORMED, OK, OUTCOMES, SERVER_ERROR, TIMEOUT, TOO_MANY_REQUESTS,
    ParsedRequest, broken_json, completion_body, draw_latency_s, draw_outcome, error_body,
    estimated_tokens, generated_content, matching_rule, seeded_rng, truncated,
)

# A script sees the request JSON and returns None (no opinion), the reply content as a string,
# or a dict with the ReplyRule reply fields: {"reply": ..., "status": ..., "finish_reason": ...}.
ScriptFunction = Callable[[dict[str, Any]], "str | dict[str, Any] | None"]
# A step script also sees which pipeline step asks (the X-Sftgen-Step header; None if none was sent).
StepScriptFunction = Callable[["str | None", dict[str, Any]], "str | dict[str, Any] | None"]


@dataclass
class PlannedReply:
    outcome: str  # the stats key: "ok", "429", "500", "timeout", "malformed", "length", or a status
    status: int = 200
    content: str = ""
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ServerStats:
    requests: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    scripted: int = 0
    bad_requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def enter(self) -> None:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        self.in_flight -= 1

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "outcomes": dict(self.outcomes)}


class FakeServerState:
    """Config, stats, per-body attempt counters and scripted replies; lives on the event loop."""

    def __init__(self, config: FakeServerConfig) -> None:
        self.config = config
        self.stats = ServerStats()
        self.attempts: dict[str, int] = {}
        self.rule_uses = [0] * len(config.rules)
        self.scripts: list[Callable[[ParsedRequest], "str | dict[str, Any] | None"]] = []  # see FakeOpenAIServer.script

    def set_config(self, changes: dict[str, Any]) -> None:
        self.config = self.config.updated(changes)
        if "rules" in changes:
            self.rule_uses = [0] * len(self.config.rules)

    def reset(self) -> None:
        """Zero the stats, the attempt counters and the rule use counts; keep config and scripts."""
        in_flight = self.stats.in_flight
        self.stats = ServerStats(in_flight=in_flight, max_in_flight=in_flight)
        self.attempts.clear()
        self.rule_uses = [0] * len(self.config.rules)

    def next_attempt(self, body_digest: str) -> int:
        attempt = self.attempts.get(body_digest, 0)
        self.attempts[body_digest] = attempt + 1
        return attempt

    def plan_reply(self, request: ParsedRequest, attempt: int) -> PlannedReply:
        scripted = self.scripted_reply(request)
        if scripted is not None:
            self.stats.scripted += 1
            return scripted
        fault_rng = seeded_rng("fault", self.config.seed, request.body_digest, attempt)
        return self.reply_for_outcome(draw_outcome(self.config, fault_rng), request)

    def scripted_reply(self, request: ParsedRequest) -> PlannedReply | None:
        fields = self.scripted_fields(request)
        if fields is None:
            return None
        if fields.get("reply") is None and fields.get("status", 200) == 200:
            content = generated_content(request, self.config.seed)
            fields["reply"] = truncated(content) if fields.get("finish_reason") == "length" else content
        return planned_from_fields(**fields, retry_after_s=self.config.retry_after_s)

    def scripted_fields(self, request: ParsedRequest) -> dict[str, Any] | None:
        """Reply fields from the first script with an opinion, else from the first matching rule."""
        for script in self.scripts:
            answer = script(request)
            if isinstance(answer, str):
                return {"reply": answer}
            if isinstance(answer, dict):
                return {k: answer[k] for k in ("reply", "status", "finish_reason") if k in answer}
        rule = matching_rule(self.config.rules, self.rule_uses, request.message_text)
        if rule is None:
            return None
        return {"reply": rule.reply, "status": rule.status, "finish_reason": rule.finish_reason}

    def reply_for_outcome(self, outcome: str, request: ParsedRequest) -> PlannedReply:
        if outcome == TOO_MANY_REQUESTS:
            headers = retry_after_headers(self.config.retry_after_s)
            return PlannedReply(outcome, 429, "rate limited (injected)", headers=headers)
        if outcome == SERVER_ERROR:
            return PlannedReply(outcome, 500, "internal error (injected)")
        content = generated_content(request, self.config.seed)
        if outcome == MALFORMED:
            return PlannedReply(outcome, content=broken_json(content))
        if outcome == LENGTH:
            return PlannedReply(outcome, content=truncated(content), finish_reason="length")
        return PlannedReply(outcome, content=content)


def planned_from_fields(
    reply: str | None = None, status: int = 200, finish_reason: str = "stop", retry_after_s: float = 0.05
) -> PlannedReply:
    if status != 200:
        headers = retry_after_headers(retry_after_s) if status == 429 else {}
        return PlannedReply(str(status), status, reply or f"error {status} (scripted)", headers=headers)
    outcome = LENGTH if finish_reason == "length" else OK
    return PlannedReply(outcome, content=reply or "", finish_reason=finish_reason)


def retry_after_headers(seconds: float) -> dict[str, str]:
    # The openai client reads retry-after-ms first; others read Retry-After (seconds, may be fractional).
    return {"Retry-After": f"{seconds:g}", "retry-after-ms": str(round(seconds * 1000))}


# --- handlers ------------------------------------------------------------------------------------

STATE_KEY = web.AppKey("state", FakeServerState)


def state_of(request: web.Request) -> FakeServerState:
    return request.app[STATE_KEY]


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    body = await request_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        state.stats.bad_requests += 1
        return json_error(400, "body must be a JSON object with a 'messages' list")
    if body.get("stream"):
        state.stats.bad_requests += 1
        return json_error(400, "streaming is not supported by the fake server")
    state.stats.enter()
    try:
        return await answer_chat(request, state, ParsedRequest.from_body(body, request.headers.get("X-Sftgen-Step")))
    finally:
        state.stats.leave()


async def answer_chat(
    request: web.Request, state: FakeServerState, parsed: ParsedRequest
) -> web.StreamResponse:
    config = state.config  # one config for the whole request, even if /config changes meanwhile
    attempt = state.next_attempt(parsed.body_digest)
    planned = state.plan_reply(parsed, attempt)
    state.stats.count(planned.outcome)
    completion_tokens = estimated_tokens(planned.content) if planned.status == 200 else 0
    latency_rng = seeded_rng("latency", config.seed, parsed.body_digest, attempt)
    await asyncio.sleep(draw_latency_s(config, latency_rng, completion_tokens))
    if planned.outcome == TIMEOUT:
        await asyncio.sleep(config.timeout_hold_s)
        if config.timeout_mode == "drop":
            return drop_connection(request)
    if planned.status != 200:
        return json_error(planned.status, planned.content, planned.headers)
    model = parsed.model or config.model
    body = completion_body(parsed, planned.content, planned.finish_reason, attempt, int(time.time()), model)
    state.stats.prompt_tokens += body["usage"]["prompt_tokens"]
    state.stats.completion_tokens += body["usage"]["completion_tokens"]
    return web.json_response(body)


def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the socket without answering, as a server that hung and was killed would."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


async def request_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        return None


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(error_body(status, message), status=status, headers=headers)


async def list_models(request: web.Request) -> web.Response:
    model = state_of(request).config.model
    listed = {"id": model, "object": "model", "created": 0, "owned_by": "fake"}
    return web.json_response({"object": "list", "data": [listed]})


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).stats.as_dict())


async def post_reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return web.json_response(state_of(request).stats.as_dict())


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).config.to_dict())


async def post_config(request: web.Request) -> web.Response:
    changes = await request_json(request)
    if not isinstance(changes, dict):
        return json_error(400, "config must be a JSON object")
    try:
        state_of(request).set_config(changes)
    except (TypeError, ValueError) as error:
        return json_error(400, str(error))
    return web.json_response(state_of(request).config.to_dict())


def make_app(state: FakeServerState) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/stats", get_stats)
    app.router.add_post("/reset", post_reset)
    app.router.add_get("/config", get_config)
    app.router.add_post("/config", post_config)
    return app


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


async def start_serving(
    state: FakeServerState, host: str, port: int, backlog: int
) -> tuple[web.AppRunner, int]:
    """Serve the app; returns the runner (to clean up) and the bound port."""
    # handler_cancellation frees a held request as soon as its client gives up on it.
    runner = web.AppRunner(
        make_app(state), access_log=None, handler_cancellation=True, shutdown_timeout=0.5
    )
    await runner.setup()
    sock = listening_socket(host, port, backlog)
    # SockSite re-listens with its own backlog, which defaults to a too small 128.
    await web.SockSite(runner, sock, backlog=backlog).start()
    return runner, sock.getsockname()[1]


__all__ = ["FakeServerState", "PlannedReply", "ScriptFunction", "start_serving"]
