"""An aiohttp app served on 127.0.0.1 from a background thread, for tests that need a real HTTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


@contextmanager
def serving(app: web.Application, **runner_options) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1; yields its root URL (no trailing slash). `runner_options`
    go to aiohttp's AppRunner (handler_cancellation=True frees a handler whose client went away)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, **runner_options)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    async def start() -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()

    loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
