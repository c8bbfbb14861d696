"""The LLM client's plain-HTTP pool against a real HTTP server on 127.0.0.1 (aiohttp's): connections kept
alive and reused, never more than the limit, a server that drops idle connections or answers in chunks,
timeouts, resets, and nothing listening."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from sftgen.llm.http1.pool import ConnectFailed, HTTPPool, TransportError, header_line
from tests.support.local_http import free_port, serving


def recording_app(seen: list[dict], delay_s: float = 0.0) -> web.Application:
    async def chat(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append({"peer": request.transport.get_extra_info("peername"), "path": request.path,
                     "auth": request.headers.get("Authorization"), "step": request.headers.get("X-Step"),
                     "body": body})
        await asyncio.sleep(delay_s)
        return web.json_response({"echo": json.loads(body)})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


def pool_for(root: str, limit: int = 4, timeout_s: float = 10) -> HTTPPool:
    return HTTPPool(root + "/v1", {"Authorization": "Bearer k"}, timeout_s=timeout_s, connect_timeout_s=2,
                    limit=limit)


def test_requests_reuse_kept_alive_connections_and_reach_the_path_with_their_headers():
    seen: list[dict] = []
    with serving(recording_app(seen)) as root:
        async def go():
            pool = pool_for(root)
            replies = [await pool.post("/chat/completions", json.dumps({"n": n}).encode(), {"X-Step": "s"})
                       for n in range(20)]
            pool.close()
            return replies

        replies = asyncio.run(go())
    assert [json.loads(reply.body) for reply in replies] == [{"echo": {"n": n}} for n in range(20)]
    assert all(reply.status == 200 and reply.headers["content-type"].startswith("application/json")
               for reply in replies)
    assert len({one["peer"] for one in seen}) == 1
    assert {(one["path"], one["auth"], one["step"]) for one in seen} == {("/v1/chat/completions", "Bearer k", "s")}


def test_concurrent_requests_open_no_more_connections_than_the_limit():
    seen: list[dict] = []
    with serving(recording_app(seen, delay_s=0.02)) as root:
        async def go():
            pool = pool_for(root, limit=4)
            replies = await asyncio.gather(*(pool.post("/chat/completions", b'{"n": %d}' % n, {})
                                             for n in range(40)))
            pool.close()
            return replies

        replies = asyncio.run(go())
    assert sorted(json.loads(reply.body)["echo"]["n"] for reply in replies) == list(range(40))
    assert 1 <= len({one["peer"] for one in seen}) <= 4


def test_a_server_that_closes_idle_connections_is_reconnected_to_without_an_error():
    seen: list[dict] = []
    with serving(recording_app(seen), keepalive_timeout=0.05) as root:
        async def go():
            pool = pool_for(root)
            statuses = []
            for n in range(4):
                statuses.append((await pool.post("/chat/completions", b'{"n": %d}' % n, {})).status)
                await asyncio.sleep(0.2)  # past the server's keep-alive: it closes the connection
            pool.close()
            return statuses

        assert asyncio.run(go()) == [200] * 4
    assert len(seen) == 4


def test_a_chunked_reply_and_a_connection_close_reply_read_whole():
    async def chunks(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for piece in (b'{"choices": ', b'[{"message": {"content": "\xc3\xa9t\xc3\xa9"}}]', b"}"):
            await response.write(piece)
        await response.write_eof()
        return response

    async def closing(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=b'{"ok": true}', headers={"Connection": "close"})

    app = web.Application()
    app.router.add_post("/v1/chunks", chunks)
    app.router.add_post("/v1/closing", closing)
    with serving(app) as root:
        async def go():
            pool = pool_for(root)
            one = await pool.post("/chunks", b"{}", {})
            two = await pool.post("/closing", b"{}", {})
            three = await pool.post("/closing", b"{}", {})
            kept = len(pool.idle)
            pool.close()
            return one, two, three, kept

        one, two, three, kept = asyncio.run(go())
    assert json.loads(one.body)["choices"][0]["message"]["content"] == "été"
    assert json.loads(two.body) == json.loads(three.body) == {"ok": True} and not two.keep_alive
    assert kept == 0


def test_a_server_too_slow_for_the_timeout_raises_a_timeout_and_its_connection_is_not_reused():
    seen: list[dict] = []
    with serving(recording_app(seen, delay_s=3), handler_cancellation=True, shutdown_timeout=0.5) as root:
        async def go():
            pool = pool_for(root, timeout_s=0.3)
            with pytest.raises(TimeoutError):
                await pool.post("/chat/completions", b"{}", {})
            idle = len(pool.idle)
            pool.close()
            return idle

        assert asyncio.run(go()) == 0


def test_a_reset_mid_reply_is_a_transport_error_not_a_reply():
    async def half(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Length": "100"})
        await response.prepare(request)
        await response.write(b'{"choi')
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", half)
    with serving(app, handler_cancellation=True, shutdown_timeout=0.5) as root:
        async def go():
            pool = pool_for(root)
            with pytest.raises(TransportError, match="ServerDisconnected"):
                await pool.post("/chat/completions", b"{}", {})
            pool.close()

        asyncio.run(go())


def test_nothing_listening_is_a_connect_failure_naming_the_address():
    port = free_port()

    async def go():
        pool = HTTPPool(f"http://127.0.0.1:{port}/v1", {}, timeout_s=5, connect_timeout_s=2, limit=2)
        with pytest.raises(ConnectFailed, match=f"127.0.0.1:{port}"):
            await pool.post("/chat/completions", b"{}", {})

    asyncio.run(go())


def test_a_header_that_would_end_its_line_is_refused_not_sent():
    with pytest.raises(ValueError, match="Authorization"):
        HTTPPool("http://127.0.0.1:1/v1", {"Authorization": "Bearer k\r\nX-Evil: 1"}, 5, 2, 1)
    with pytest.raises(ValueError):
        header_line("X-Step", "a\nb")
    with pytest.raises(ValueError, match="http://"):
        HTTPPool("https://127.0.0.1:1/v1", {}, 5, 2, 1)
