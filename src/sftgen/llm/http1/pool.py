"""A lean HTTP/1.1 client for a plain-HTTP chat server: keep-alive connections on asyncio's protocols.

Why not aiohttp here: against a local server (llama.cpp, vLLM) at 64 requests in flight, aiohttp's
request and reply machinery costs about 0.3 ms of CPU per request, a third of a whole LLM step's; a POST
with Content-Length on a kept-alive connection, read by `ReplyReader`, costs about 0.1
(bench/llm_step_cpu.py). HTTPS servers still go through aiohttp (TLS, proxies and their edge cases).
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from sftgen.llm.http1.reply_reader import BadReply, Reply, ReplyReader

USER_AGENT = "sftgen"


class TransportError(Exception):
    """The request got no complete reply: the connection broke, or what came back is not HTTP."""


class ConnectFailed(TransportError):
    """No connection could be made: nothing listens there, or the host name does not resolve."""


class Connection(asyncio.Protocol):
    """One TCP connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader: ReplyReader | None = None
        self.waiter: asyncio.Future[Reply] | None = None
        self.closed = False
        self.got_bytes = False  # any byte of the current reply: a reply begun is never sent again

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.reader is None or self.waiter is None or self.waiter.done():
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        self.got_bytes = True
        try:
            reply = self.reader.feed(data)
        except BadReply as exc:
            self.fail(TransportError(f"BadReply: {exc}"))
            return
        if reply is not None:
            if self.reader.leftover:
                reply.keep_alive = False
            self.waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is None or self.waiter.done() or self.reader is None:
            return
        try:
            self.waiter.set_result(self.reader.connection_closed())
        except BadReply as error:
            what = f"{type(exc).__name__}: {exc}" if exc else str(error)
            self.waiter.set_exception(TransportError(f"ServerDisconnected: {what}"))

    def fail(self, error: TransportError) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    @property
    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    async def exchange(self, request: bytes) -> Reply:
        if not self.usable:  # the server closed it while it was idle
            raise TransportError("ServerDisconnected: the connection was closed")
        self.reader, self.got_bytes = ReplyReader(), False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        try:
            return await self.waiter
        finally:
            self.waiter = None


class HTTPPool:
    """POSTs to one plain-HTTP server over at most `limit` kept-alive connections: at most `limit` POSTs at
    once, the others wait. `limit=None`: the caller keeps as many in flight as the connections it wants
    (ChatClient's request slots), and the pool adds no wait of its own."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float, connect_timeout_s: float,
                 limit: int | None):
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{base_url}: HTTPPool serves plain http:// URLs")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path.rstrip("/")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self.head_start = f"Host: {host_header}\r\nUser-Agent: {USER_AGENT}\r\nAccept-Encoding: identity\r\n"
        self.head_start += "".join(header_line(name, value) for name, value in headers.items())
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.slots = asyncio.Semaphore(limit) if limit is not None else contextlib.nullcontext()
        self.idle: list[Connection] = []
        self.closed = False

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        """The server's reply to one POST, within `timeout_s` (asyncio.TimeoutError past it). A kept-alive
        connection the server closed before answering is replaced once, transparently."""
        head = (f"POST {self.path}{path} HTTP/1.1\r\n{self.head_start}"
                + "".join(header_line(name, value) for name, value in headers.items())
                + f"Content-Length: {len(body)}\r\n\r\n")
        request = head.encode("latin-1") + body
        async with self.slots, asyncio.timeout(self.timeout_s):
            connection, reused = await self.connection()
            try:
                try:
                    reply = await connection.exchange(request)
                except TransportError:
                    if not reused or connection.got_bytes:
                        raise
                    connection, _ = await self.connection(fresh=True)
                    reply = await connection.exchange(request)
            except BaseException:  # broken, timed out or cancelled mid-reply: the connection is out of step
                connection.close()
                raise
            if reply.keep_alive and not connection.closed and not self.closed:
                self.idle.append(connection)
            else:
                connection.close()
            return reply

    async def connection(self, fresh: bool = False) -> tuple[Connection, bool]:
        while self.idle and not fresh:
            connection = self.idle.pop()
            if connection.usable:
                return connection, True
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, connection = await loop.create_connection(Connection, self.host, self.port)
        except TimeoutError:  # an OSError too, but a sign of a hung server, not of an absent one
            raise
        except OSError as exc:  # refused, unreachable, the name does not resolve
            what = f"{type(exc).__name__}: {exc}"
            raise ConnectFailed(f"Cannot connect to host {self.host}:{self.port} ({what})") from None
        return connection, False

    def close(self) -> None:
        self.closed = True
        for connection in self.idle:
            connection.close()
        self.idle.clear()


def header_line(name: str, value: str) -> str:
    """One header line; a name or value that would end the line early (CR, LF) is refused, not sent."""
    if any(char in name + value for char in "\r\n\0") or not name or ":" in name:
        raise ValueError(f"header {name!r} has a character that cannot be sent in an HTTP header")
    return f"{name}: {value}\r\n"
