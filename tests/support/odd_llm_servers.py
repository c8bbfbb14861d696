"""Servers on 127.0.0.1 that are not usable OpenAI chat servers, for the fail-fast tests: a web page, an
empty body, JSON without `choices`, connections reset, a server that never answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from tests.support.local_http import serving

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class OddServer:
    base_url: str
    requests: list[int]

    @property
    def requests_seen(self) -> int:
        return self.requests[0]


@contextmanager
def odd_server(handler: Handler) -> Iterator[OddServer]:
    """Every request, to any path, gets `handler`; yields the server's /v1 URL and its request count."""
    seen = [0]

    async def counted(request: web.Request) -> web.StreamResponse:
        seen[0] += 1
        await request.read()
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", counted)
    with serving(app, handler_cancellation=True, shutdown_timeout=0.5) as root:
        yield OddServer(root + "/v1", seen)


async def html_page(request: web.Request) -> web.Response:
    return web.Response(text="<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>",
                        content_type="text/html")


async def empty_body(request: web.Request) -> web.Response:
    return web.Response(status=200, body=b"")


async def json_without_choices(request: web.Request) -> web.Response:
    return web.json_response({"object": "chat.completion", "id": "x", "detail": "upstream returned nothing"})


async def reset_connection(request: web.Request) -> web.StreamResponse:
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


async def never_answer(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(60)  # cancelled as soon as the client gives up (handler_cancellation)
    return web.Response(text="too late")


def answering(status: int, text: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=text)

    return handler
