"""The yardstick: a plain asyncio loop sending the very requests the run sent (the bodies its LLM cache
holds) to the same fake server at the same concurrency, parsing each reply's JSON content as the pipeline
does, and nothing else. `aiohttp` is the lean loop; `openai` is the usual AsyncOpenAI loop; `sftgen` is our
own ChatClient's transport alone (`ChatClient.post` of the body as sent, its reply read as the client reads
it; no cache, no template, no step): the least an LLM request costs the pipeline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from scale.store_stats import read_only, store_path
from sftgen.store.llm_cache import texts_reader, unpacked


@dataclass
class PlainTiming:
    client: str
    requests: int
    ok: int
    wall_s: float
    cpu_s: float

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / max(1, self.requests)


def cached_bodies(project_dir: Path) -> list[str]:
    """The request bodies of the run, in the order their replies came (as JSON text)."""
    with read_only(store_path(project_dir)) as conn:
        has_dictionaries = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llm_cache_dicts'").fetchone()
        dictionaries = dict(conn.execute("SELECT id, data FROM llm_cache_dicts")) if has_dictionaries else {}
        rows = conn.execute("SELECT request FROM llm_cache ORDER BY created_at")
        texts = texts_reader(conn)
        return [json.dumps(unpacked(row[0], dictionaries.__getitem__, texts=texts), ensure_ascii=False) for row in rows]


async def send_all(bodies: list[str], concurrency: int, send_one: Callable[[str], Awaitable[None]]) -> int:
    """`concurrency` workers taking the bodies in turn, each sent and its reply read by `send_one`: the same
    driver for every client, so the loops differ only in the client. How many were sent."""
    queue = iter(bodies)
    ok = 0

    async def worker() -> None:
        nonlocal ok
        for text in queue:
            await send_one(text)
            ok += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok


async def aiohttp_loop(bodies: list[str], base_url: str, concurrency: int) -> int:
    import aiohttp

    url = f"{base_url}/chat/completions"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def send_one(text: str) -> None:
            async with session.post(url, json=json.loads(text)) as response:
                payload = await response.json()
            json.loads(payload["choices"][0]["message"]["content"])

        return await send_all(bodies, concurrency, send_one)


async def openai_loop(bodies: list[str], base_url: str, concurrency: int) -> int:
    import httpx
    import openai

    http = openai.DefaultAsyncHttpxClient(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency))
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=6, http_client=http)

    async def send_one(text: str) -> None:
        reply = await client.chat.completions.create(**json.loads(text))
        json.loads(reply.choices[0].message.content or "")

    try:
        return await send_all(bodies, concurrency, send_one)
    finally:
        await client.close()


async def sftgen_loop(bodies: list[str], base_url: str, concurrency: int) -> int:
    from sftgen.llm.client import ChatClient
    from sftgen.llm.http_reply import read_choice
    from sftgen.llm.reply import LLMReply

    client = ChatClient(base_url, "bench", max_concurrency=concurrency)

    async def send_one(text: str) -> None:
        response, _ = await client.post(text.encode("utf-8"), LLMReply("", None, "", False))
        client.slots.release()  # post hands the request's slot back with the reply (nothing is stored here)
        content, _ = read_choice(response)
        json.loads(content)

    try:
        return await send_all(bodies, concurrency, send_one)
    finally:
        await client.aclose()


LOOPS = {"aiohttp": aiohttp_loop, "openai": openai_loop, "sftgen": sftgen_loop}


def plain_client(client: str, bodies: list[str], base_url: str, concurrency: int,
                 timeout_s: float | None = None) -> PlainTiming:
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        ok = asyncio.run(asyncio.wait_for(LOOPS[client](bodies, base_url, concurrency), timeout_s))
    except asyncio.TimeoutError:
        raise TimeoutError(f"the plain {client} client took over {timeout_s:.0f} s (--timeout)") from None
    return PlainTiming(client, len(bodies), ok, time.perf_counter() - wall, time.process_time() - cpu)
