"""The request cache is written in one transaction per turn of the event loop, and a reply counts as in
flight until it is committed: at no moment are more requests answered-but-unstored than the concurrency."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from sftgen.llm.client import ChatClient
from sftgen.store import Store
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


def test_a_cache_without_transactions_is_written_reply_by_reply(tmp_path):
    class Collecting:  # as a Ray worker's cache: keeps the replies for the driver
        def __init__(self):
            self.rows: list[tuple] = []

        def cache_get(self, key):
            return None

        def cache_put(self, *row):
            self.rows.append(row)

    cache = Collecting()

    async def go() -> None:
        client = ChatClient(server.base_url, "fake-model", max_concurrency=CONCURRENCY, cache=cache)
        try:
            reply = await client.complete([{"role": "user", "content": "judge this"}], schema=Verdict)
            assert [row[0] for row in cache.rows] == [reply.cache_key]  # there when complete returns
        finally:
            await client.aclose()

    with running_fake_server() as server:
        asyncio.run(go())
