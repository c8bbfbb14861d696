"""The request cache is written in one transaction per commit window (a few % of the requests' latency), and a
reply counts as in flight until it is committed: at no moment are more requests answered-but-unstored than the
concurrency."""

from __future__ import annotations

import asyncio
import json

from pydantic import BaseModel

from sftgen.llm.cache_writes import MOST_WAITING, WINDOW_CAP_S, WINDOW_SHARE, CacheWrites
from sftgen.llm.client import ChatClient
from sftgen.store import Store
from sftgen.store.llm_cache import raw_body
from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server

CONCURRENCY = 4


class Verdict(BaseModel):
    keep: bool
    reason: str


def test_replies_of_one_turn_share_a_commit_and_none_waits_unstored_beyond_the_concurrency(tmp_path):
    store = Store(tmp_path / "store.db")
    rows_at_commit: list[tuple[int, int]] = []  # (requests the server had seen, cache rows committed before)

    def traced(statement: str) -> None:
        if statement == "COMMIT":
            committed = Store(tmp_path / "store.db").conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0]
            rows_at_commit.append((server.state.stats.requests, committed))

    store.conn.set_trace_callback(traced)

    async def go() -> ChatClient:
        client = ChatClient(server.base_url, "fake-model", max_concurrency=CONCURRENCY, cache=store)
        try:
            await asyncio.gather(*(client.complete([{"role": "user", "content": f"judge item {n}"}], schema=Verdict)
                                   for n in range(40)))
        finally:
            await client.aclose()
        return client

    with running_fake_server(FakeServerConfig(latency_ms=20, latency_kind="fixed")) as server:
        client = asyncio.run(go())
    store.conn.set_trace_callback(None)
    assert store.conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0] == 40
    assert len(rows_at_commit) < 40  # replies that came back together were committed together
    assert all(seen - committed <= CONCURRENCY for seen, committed in rows_at_commit)
    assert client.slots._value == CONCURRENCY  # every slot given back
    store.close()


class CollectingCache:
    """A cache without transactions, as a Ray worker's: keeps the rows put, for the driver to store."""

    def __init__(self):
        self.rows: list[tuple] = []

    def cache_get(self, key):
        return None

    def cache_put(self, *row):
        self.rows.append(row)


def test_a_cache_without_transactions_is_written_reply_by_reply(tmp_path):
    cache = CollectingCache()

    async def go() -> None:
        client = ChatClient(server.base_url, "fake-model", max_concurrency=CONCURRENCY, cache=cache)
        try:
            reply = await client.complete([{"role": "user", "content": "judge this"}], schema=Verdict)
            assert [row[0] for row in cache.rows] == [reply.cache_key]  # there when complete returns
        finally:
            await client.aclose()

    with running_fake_server() as server:
        asyncio.run(go())


def reply_row(n: int) -> tuple:
    request = {"model": "m", "messages": [{"role": "user", "content": f"judge item {n}"}]}
    response = {"choices": [{"message": {"role": "assistant", "content": f"verdict {n}"}, "finish_reason": "stop"}]}
    return f"{n:040x}", "m", request, response, {"prompt_tokens": 3, "completion_tokens": 2}


def committed_rows(path) -> int:
    other = Store(path)
    try:
        return other.conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0]
    finally:
        other.close()


def test_the_replies_of_one_window_share_a_commit_and_each_slot_is_released_once_it_is_committed(tmp_path):
    store = Store(tmp_path / "store.db")
    commits: list[str] = []
    store.conn.set_trace_callback(lambda statement: commits.append(statement) if statement == "COMMIT" else None)
    writes = CacheWrites()
    writes.saw_latency(1.0)  # a window of WINDOW_SHARE s
    released: list[int] = []

    async def go() -> float:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        futures = []
        for n in range(3):
            futures.append(writes.put(store, reply_row(n), lambda n=n: released.append(n), in_flight=5))
            await asyncio.sleep(0.002)
            assert commits == [] and released == []  # held, slots and all, while the window is open
        await asyncio.gather(*futures)
        return loop.time() - opened

    took = asyncio.run(go())
    assert commits == ["COMMIT"] and released == [0, 1, 2]
    assert WINDOW_SHARE <= took < WINDOW_SHARE + 0.5
    assert committed_rows(tmp_path / "store.db") == 3
    store.close()


def test_the_window_closes_at_once_when_no_other_request_is_in_flight_or_enough_replies_wait(tmp_path):
    store = Store(tmp_path / "store.db")
    writes = CacheWrites()
    writes.saw_latency(100.0)  # a window as long as its cap

    async def go() -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await writes.put(store, reply_row(0), lambda: None, in_flight=0)  # no reply could join it
        many = [writes.put(store, reply_row(n), lambda: None, in_flight=64) for n in range(1, MOST_WAITING + 1)]
        await asyncio.gather(*many)
        assert loop.time() - started < WINDOW_CAP_S

    asyncio.run(go())
    assert committed_rows(tmp_path / "store.db") == MOST_WAITING + 1
    store.close()


def test_the_window_is_a_share_of_the_measured_latency_within_its_cap():
    writes = CacheWrites()
    assert writes.window_s() == 0  # nothing measured yet: the next turn, as without a window
    writes.saw_latency(0.2)
    assert abs(writes.window_s() - WINDOW_SHARE * 0.2) < 1e-9
    for _ in range(200):
        writes.saw_latency(60.0)  # a slow remote server
    assert writes.window_s() == WINDOW_CAP_S
    assert CacheWrites(window_share=0).window_s() == 0


def test_an_asker_cancelled_while_its_window_is_open_has_its_reply_committed_at_once(tmp_path):
    store = Store(tmp_path / "store.db")

    async def go() -> None:
        client = ChatClient(server.base_url, "fake-model", max_concurrency=CONCURRENCY, cache=store)
        client.cache_writes.window_share = 1000.0  # the window stays open until its cap
        client.stats.in_flight += 1  # as if another request were out: the window stays open
        try:
            asked = asyncio.ensure_future(client.complete([{"role": "user", "content": "judge this"}], schema=Verdict))
            while not client.cache_writes.pending:
                await asyncio.sleep(0.001)
            assert committed_rows(tmp_path / "store.db") == 0
            asked.cancel()
            await asyncio.gather(asked, return_exceptions=True)
            assert committed_rows(tmp_path / "store.db") == 1
            assert client.slots._value == CONCURRENCY
        finally:
            await client.aclose()

    with running_fake_server(FakeServerConfig(latency_ms=5, latency_kind="fixed")) as server:
        asyncio.run(go())
    store.close()


def test_a_reply_is_stored_as_the_bytes_it_came_in_and_read_back_as_their_json(tmp_path):
    cache = CollectingCache()

    async def go() -> str:
        client = ChatClient(server.base_url, "fake-model", max_concurrency=CONCURRENCY, cache=cache)
        try:
            return (await client.complete([{"role": "user", "content": "judge this"}], schema=Verdict)).content
        finally:
            await client.aclose()

    with running_fake_server() as server:
        content = asyncio.run(go())
    (key, model, sent, received, usage), = cache.rows
    assert isinstance(received, bytes) and json.loads(received)["choices"][0]["message"]["content"] == content
    assert usage == json.loads(received)["usage"]
    store = Store(tmp_path / "store.db")
    try:
        store.cache_put(key, model, sent, received, usage)
        assert store.cache_get(key) == json.loads(received)
    finally:
        store.close()


def test_a_reply_spelled_otherwise_than_python_writes_json_reads_back_as_the_same_value(tmp_path):
    reply = {"id": "x", "choices": [{"message": {"role": "assistant", "content": "Größe: 5 µm \u2028 \"ok\""}}],
             "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    spellings = [json.dumps(reply, separators=(",", ":")).encode(), json.dumps(reply, indent=2).encode(),
                 json.dumps(reply, ensure_ascii=False).encode("utf-8")]
    store = Store(tmp_path / "store.db")
    try:
        for n, wire in enumerate(spellings):
            store.cache_put(f"k{n}", "m", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, wire, {})
        for n, wire in enumerate(spellings):
            assert store.cache_get(f"k{n}") == reply
            stored = store.conn.execute("SELECT response FROM llm_cache WHERE key=?", (f"k{n}",)).fetchone()[0]
            assert raw_body(stored, store.llm_cache.dictionary) == wire
    finally:
        store.close()
