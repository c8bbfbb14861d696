"""Reading an HTTP/1.1 reply from the bytes of a connection, as they arrive (no I/O here).

What the chat endpoint of a plain-HTTP server can send: a status line, headers, then a body framed by
Content-Length, by chunked transfer coding, or by the end of the connection; 1xx replies before the real
one are skipped; a gzip or deflate body is decoded. Anything else is a `BadReply`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
"""A chat completion is a few KB; a server sending more is broken or hostile, and is cut off."""

NO_BODY_STATUS = (204, 304)


class BadReply(Exception):
    """The bytes are not an HTTP/1.x reply we can read."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header's values joined by ", "
    body: bytes
    keep_alive: bool


@dataclass
class ReplyReader:
    """Feed it the connection's bytes with `feed`; it returns the reply once the last byte of it is in.
    One reader reads one reply (make a new one per request)."""

    buffer: bytearray = field(default_factory=bytearray)
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    keep_alive: bool = True
    framing: str = ""  # "", "length", "chunked", "close": how the body ends; "" while in the head
    remaining: int = 0  # bytes left of the body ("length") or of the current chunk ("chunked")
    body: bytearray = field(default_factory=bytearray)
    in_trailer: bool = False

    def feed(self, data: bytes) -> Reply | None:
        self.buffer += data
        while not self.framing:
            if not self.read_head():
                return None
        if self.framing == "length":
            return self.read_length()
        if self.framing == "chunked":
            return self.read_chunked()
        self.take_body(self.buffer)
        self.buffer.clear()
        return None

    def connection_closed(self) -> Reply:
        """The server closed the connection: the reply, if it was framed by the close; else `BadReply`."""
        if self.framing == "close":
            return self.done()
        where = "in the head" if not self.framing else "in the body"
        raise BadReply(f"the server closed the connection {where} of its reply")

    def read_head(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise BadReply(f"the reply's head is over {MAX_HEAD_BYTES} bytes")
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[:end + 4]
        status_line, *lines = head.split("\r\n")
        version, status = parse_status_line(status_line)
        if 100 <= status < 200:  # 100 Continue and the like: the real reply follows
            return True
        self.status, self.headers = status, parse_headers(lines)
        connection = self.headers.get("connection", "").lower()
        self.keep_alive = ("close" not in connection) if version == "1.1" else ("keep-alive" in connection)
        coding = self.headers.get("transfer-encoding", "").lower()
        if status in NO_BODY_STATUS:
            self.framing, self.remaining = "length", 0
        elif coding:
            if coding.rsplit(",", 1)[-1].strip() != "chunked":
                raise BadReply(f"transfer-encoding {coding!r} is not supported")
            self.framing = "chunked"
        elif "content-length" in self.headers:
            self.framing, self.remaining = "length", parse_length(self.headers["content-length"])
            if self.remaining > MAX_BODY_BYTES:
                raise BadReply(f"the reply's body is {self.remaining} bytes, over {MAX_BODY_BYTES}")
        else:
            self.framing, self.keep_alive = "close", False
        return True

    def read_length(self) -> Reply | None:
        if len(self.buffer) < self.remaining:
            return None
        self.take_body(self.buffer[:self.remaining])
        del self.buffer[:self.remaining]
        return self.done()

    def read_chunked(self) -> Reply | None:
        while True:
            if self.in_trailer:  # trailer fields, up to an empty line; their values are not kept
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    return None
                line = bytes(self.buffer[:end])
                del self.buffer[:end + 2]
                if not line:
                    return self.done()
            elif self.remaining:
                if len(self.buffer) < self.remaining + 2:
                    return None
                if self.buffer[self.remaining:self.remaining + 2] != b"\r\n":
                    raise BadReply("a chunk does not end with CRLF")
                self.take_body(self.buffer[:self.remaining])
                del self.buffer[:self.remaining + 2]
                self.remaining = 0
            else:
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    if len(self.buffer) > MAX_HEAD_BYTES:
                        raise BadReply("a chunk size line is too long")
                    return None
                size = bytes(self.buffer[:end]).split(b";", 1)[0].strip()
                del self.buffer[:end + 2]
                try:
                    self.remaining = int(size, 16)
                except ValueError:
                    raise BadReply(f"a chunk size is not hexadecimal: {size[:20]!r}") from None
                if self.remaining < 0:
                    raise BadReply("a chunk size is negative")
                if self.remaining == 0:
                    self.in_trailer = True

    def take_body(self, data: bytes | bytearray) -> None:
        if len(self.body) + len(data) > MAX_BODY_BYTES:
            raise BadReply(f"the reply's body is over {MAX_BODY_BYTES} bytes")
        self.body += data

    def done(self) -> Reply:
        return Reply(self.status, self.headers, decoded_body(bytes(self.body), self.headers), self.keep_alive)

    @property
    def leftover(self) -> bool:
        """Bytes beyond the reply: a server talking out of turn (the connection is not reused)."""
        return bool(self.buffer)


def parse_status_line(line: str) -> tuple[str, int]:
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise BadReply(f"not an HTTP/1.x status line: {line[:80]!r}")
    return parts[0][len("HTTP/"):], int(parts[1])


def parse_headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadReply(f"not a header line: {line[:80]!r}")
        name, value = name.lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def parse_length(value: str) -> int:
    values = {part.strip() for part in value.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise BadReply(f"content-length is not one number: {value[:40]!r}")
    return int(values.pop())


def decoded_body(body: bytes, headers: dict[str, str]) -> bytes:
    coding = headers.get("content-encoding", "identity").lower().strip()
    if coding in ("", "identity"):
        return body
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise BadReply(f"content-encoding {coding!r} is not supported")
    try:
        if coding == "deflate":
            try:
                return inflate(body, zlib.MAX_WBITS)
            except zlib.error:  # some servers send raw deflate without the zlib wrapper
                return inflate(body, -zlib.MAX_WBITS)
        return inflate(body, 16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise BadReply(f"the {coding} body does not decode: {exc}") from None


def inflate(body: bytes, wbits: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    out = decoder.decompress(body, MAX_BODY_BYTES)
    if decoder.unconsumed_tail:
        raise BadReply(f"the decoded body is over {MAX_BODY_BYTES} bytes")
    return out + decoder.flush()
