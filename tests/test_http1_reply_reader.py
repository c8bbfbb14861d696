"""The HTTP/1.1 reply reader under the LLM client's plain-HTTP pool: any framing a chat server may use, cut
into the connection's reads at any points, reads as the same reply; what is not HTTP is a BadReply."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.llm.http1.reply_reader import MAX_BODY_BYTES, BadReply, Reply, ReplyReader


def read_in_pieces(data: bytes, cuts: list[int]) -> Reply | None:
    reader = ReplyReader()
    points = sorted({min(cut, len(data)) for cut in cuts} | {0, len(data)})
    for start, end in zip(points, points[1:]):
        reply = reader.feed(data[start:end])
        if reply is not None:
            assert end == len(data), "the reply ended before its last byte"
            return reply
    return None


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, at = b"", 0
    for size in sizes:
        piece = body[at:at + size]
        if not piece:
            break
        out += b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
        at += len(piece)
    if at < len(body):
        out += b"%X\r\n" % (len(body) - at) + body[at:] + b"\r\n"
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


bodies = st.binary(max_size=3000)
cuts = st.lists(st.integers(0, 4000), max_size=12)


@settings(max_examples=200, deadline=None)
@given(body=bodies, cuts=cuts)
def test_a_content_length_reply_reads_whole_however_it_arrives(body, cuts):
    data = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    reply = read_in_pieces(data, cuts)
    assert reply == Reply(200, {"content-type": "application/json", "content-length": str(len(body))}, body, True)


@settings(max_examples=200, deadline=None)
@given(body=bodies, sizes=st.lists(st.integers(1, 700), max_size=6), cuts=cuts)
def test_a_chunked_reply_reads_whole_however_its_chunks_and_reads_fall(body, sizes, cuts):
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body, sizes)
    reply = read_in_pieces(data, cuts)
    assert reply is not None and reply.body == body and reply.keep_alive


@settings(max_examples=100, deadline=None)
@given(body=bodies, cuts=cuts)
def test_a_reply_without_length_ends_with_the_connection_and_is_not_kept_alive(body, cuts):
    reader = ReplyReader()
    data = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + body
    points = sorted({min(cut, len(data)) for cut in cuts} | {0, len(data)})
    for start, end in zip(points, points[1:]):
        assert reader.feed(data[start:end]) is None
    reply = reader.connection_closed()
    assert reply.body == body and not reply.keep_alive


@settings(max_examples=50, deadline=None)
@given(body=bodies)
def test_gzip_and_deflate_bodies_are_decoded(body):
    for coding, encoded in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
                            ("deflate", raw_deflate(body))):
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
        data = head % (coding.encode(), len(encoded))
        assert ReplyReader().feed(data + encoded).body == body


def raw_deflate(body: bytes) -> bytes:
    encoder = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return encoder.compress(body) + encoder.flush()


def test_an_interim_100_continue_is_skipped_for_the_real_reply():
    data = (b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}")
    reply = ReplyReader().feed(data)
    assert reply is not None and (reply.status, reply.headers["retry-after"], reply.body) == (429, "3", b"{}")


def test_connection_close_and_http_1_0_replies_are_not_kept_alive():
    assert not ReplyReader().feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive
    assert not ReplyReader().feed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive
    assert ReplyReader().feed(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keep_alive


def test_a_204_has_no_body_and_repeated_headers_are_joined():
    reply = ReplyReader().feed(b"HTTP/1.1 204 No Content\r\nVary: a\r\nVary: b\r\n\r\n")
    assert reply is not None and reply.body == b"" and reply.headers["vary"] == "a, b"


def test_bytes_past_the_reply_are_noticed():
    reader = ReplyReader()
    reply = reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n")
    assert reply is not None and reply.body == b"{}" and reader.leftover


@pytest.mark.parametrize("data, problem", [
    (b"<html>not http</html>\r\n\r\n", "status line"),
    (b"HTTP/2 200\r\n\r\n", "status line"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "content-length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "content-length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer-encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "hexadecimal"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", "CRLF"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n", "content-encoding"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", "does not decode"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1), "over"),
])
def test_what_is_not_a_readable_reply_is_a_bad_reply_that_says_why(data, problem):
    with pytest.raises(BadReply, match=problem):
        ReplyReader().feed(data)


def test_a_head_that_never_ends_is_cut_off():
    with pytest.raises(BadReply, match="head"):
        ReplyReader().feed(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20000)


def test_a_connection_closed_mid_reply_is_a_bad_reply():
    reader = ReplyReader()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}") is None
    with pytest.raises(BadReply, match="in the body"):
        reader.connection_closed()
    with pytest.raises(BadReply, match="in the head"):
        ReplyReader().connection_closed()
