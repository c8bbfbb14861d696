"""Telling a dead or refusing LLM server from a busy one, so that a run stops after a few requests
instead of failing every item.

A server is unusable when nothing listens or the connection breaks (refused, reset, DNS), when it refuses
the client (401/403), has no such endpoint or model (404/405), or answers 200 with something that is not
an OpenAI chat completion (a proxy's HTML page, an empty body, JSON without `choices`). A timeout is a sign
of a hung server only while the server has never answered in this run: a slow but alive one is left alone.
429 and 5xx are an overloaded server, which recovers: they neither count nor reset anything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from sftgen.llm.http1.pool import ConnectFailed

UNREACHABLE = "unreachable"
BROKEN_CONNECTION = "broken_connection"
HUNG = "hung"
KEY_REFUSED = "key_refused"
NOT_FOUND = "not_found"
NOT_ALLOWED = "not_allowed"
NOT_A_COMPLETION = "not_a_completion"

UNUSABLE_STATUS = {401: KEY_REFUSED, 403: KEY_REFUSED, 404: NOT_FOUND, 405: NOT_ALLOWED}


@dataclass(frozen=True)
class ServerFailure:
    """One attempt that failed because of the server, not because of the request."""

    kind: str
    what: str  # what happened, for the message: "HTTP 401: invalid api key", "ClientConnectorError: ..."
    body: str = ""


def failure_of_exception(exc: BaseException) -> ServerFailure:
    what = one_line(f"{type(exc).__name__}: {exc}").rstrip(": ")
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's timeouts are ClientErrors too: test this first
        return ServerFailure(HUNG, what)
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.InvalidURL, ConnectFailed)):
        return ServerFailure(UNREACHABLE, what)
    return ServerFailure(BROKEN_CONNECTION, what)


def failure_of_status(status: int, body: str) -> ServerFailure | None:
    """The failure an HTTP status stands for, or None when it says nothing about the server's health."""
    kind = UNUSABLE_STATUS.get(status)
    if kind is None:
        return None
    return ServerFailure(kind, f"HTTP {status}" + (f": {snippet(body)}" if body.strip() else ""), body)


def failure_of_body(body: bytes, payload: object) -> ServerFailure:
    """A 200 that is no chat completion: `payload` is the decoded JSON, or None when the body is not JSON."""
    if not body.strip():
        return ServerFailure(NOT_A_COMPLETION, "the server answered 200 with an empty body")
    if payload is None:
        text = body.decode("utf-8", errors="replace")
        return ServerFailure(NOT_A_COMPLETION, f"the server answered 200 with a body that is not JSON: {snippet(text)}")
    return ServerFailure(NOT_A_COMPLETION, "the server answered 200 with JSON that has no 'choices': "
                                           f"{snippet(str(payload))}")


class UnusableServerBreaker:
    """Counts attempts that failed because the server is unusable, across all concurrent requests; a
    successful chat completion starts the count again. `tripped` says when to stop the run.

    Called once per attempt on the hot path: it only sets two fields on success."""

    def __init__(self, after: int = 6):
        self.after = after
        self.in_a_row = 0
        self.server_answered = False
        self.last: ServerFailure | None = None

    def saw_completion(self) -> None:
        self.in_a_row = 0
        self.server_answered = True

    def saw_answer(self) -> None:
        """Any HTTP reply at all: the server is alive, so its timeouts from now on are slowness."""
        self.server_answered = True

    def saw_failure(self, failure: ServerFailure) -> bool:
        """Counts `failure` (a timeout only while the server never answered); True once the breaker trips."""
        if failure.kind == HUNG and self.server_answered:
            return False
        self.in_a_row += 1
        self.last = failure
        return self.tripped

    @property
    def tripped(self) -> bool:
        return self.in_a_row >= self.after


@dataclass(frozen=True)
class ServerSettings:
    """What the message names: the recipe's `llm` keys as this client uses them."""

    base_url: str
    model: str
    timeout_s: float
    api_key_env: str | None = None
    api_key_given: bool = False


def unusable_message(failure: ServerFailure, attempts: int, settings: ServerSettings) -> str:
    """One line: which server, what it did, the likely fix."""
    where = f"the LLM at llm.base_url {settings.base_url} (llm.model {settings.model!r})"
    what = f"{attempts} requests in a row failed; last: {failure.what}"
    return f"{where} is not usable: {what}. {likely_fix(failure, settings)}"


def likely_fix(failure: ServerFailure, settings: ServerSettings) -> str:
    if failure.kind == UNREACHABLE:
        return "Is the server running, and is llm.base_url its address?"
    if failure.kind == BROKEN_CONNECTION:
        return ("The server closes connections without answering: check that llm.base_url is an "
                "OpenAI-compatible server and that it is not crashing.")
    if failure.kind == HUNG:
        return (f"The server accepts connections but never answered within llm.timeout_s ({settings.timeout_s:g} s): "
                "is it hung, or still loading? Raise llm.timeout_s if it is only slow.")
    if failure.kind == KEY_REFUSED:
        return key_fix(settings)
    if failure.kind == NOT_FOUND:
        return not_found_fix(failure.body, settings)
    if failure.kind == NOT_ALLOWED:
        return f"{settings.base_url}/chat/completions does not take POST: " + v1_hint(settings.base_url)
    return "It does not answer like an OpenAI-compatible server (a web page or a proxy?): " + v1_hint(settings.base_url)


def key_fix(settings: ServerSettings) -> str:
    variable = (f"the environment variable {settings.api_key_env} (llm.api_key_env)" if settings.api_key_env
                else "the environment variable named by llm.api_key_env")
    if settings.api_key_given:
        return f"The server refuses the API key from {variable}: check the key, or set llm.api_key_env."
    return f"No API key was sent: {variable} is not set; set it, or set llm.api_key_env to the right variable."


def not_found_fix(body: str, settings: ServerSettings) -> str:
    if not has_v1(settings.base_url):
        return (f"llm.base_url has no /v1: OpenAI-compatible servers answer at <host>/v1/chat/completions; "
                f"try llm.base_url: {settings.base_url}/v1")
    if "model" in body.lower():
        return (f"The server does not serve llm.model {settings.model!r}: set llm.model to a name listed at "
                f"{settings.base_url}/models.")
    return f"There is no {settings.base_url}/chat/completions: check llm.base_url (it usually ends with /v1)."


def v1_hint(base_url: str) -> str:
    if not has_v1(base_url):
        return f"llm.base_url has no /v1; try llm.base_url: {base_url}/v1"
    return "check llm.base_url (it usually ends with /v1)."


def has_v1(base_url: str) -> bool:
    return "/v1" in urlsplit(base_url).path


def snippet(text: str, limit: int = 200) -> str:
    text = one_line(text)
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def one_line(text: str) -> str:
    return " ".join(text.split())
