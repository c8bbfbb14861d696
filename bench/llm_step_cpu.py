"""CPU per LLM request, layer by layer (issue 17): what the LLM step's path adds to the plain client.

Against the fake server (a subprocess, its own CPU), the same requests at the same concurrency, measured
in one run:
- plain:     a bare aiohttp loop posting the bodies and parsing each reply's JSON content;
- client:    `ChatClient.complete` for the same messages, no request cache;
- per reply: the same, the cache committed reply by reply (a cache without `transaction()`: how it was);
- per_turn:  the same with the store as its request cache, the replies of one loop turn in one commit (no window);
- cached:    `ChatClient.complete` with the store as its request cache (the replies of a commit window in one
             commit: llm/cache_writes.py);
- step:      a real LLMStep run by the LocalExecutor over chunks in a store (templates, cache, results);
- prompt_filter: the product's prompt filter run the same way over prompts (its template with the fence
             filter, its Literal schema, precheck and on_reply): what a real step adds to the bench's step.
             Advisory (`filters.advisory`): the fake server's verdicts are random, and a filter dropping
             over 90% stops the run.
- prompt_filter_per_turn: the same, its replies committed per loop turn (no window).
Prints CPU ms per request of each (the median over `--repeat` rounds, the layers taking turns, so that a
busy machine weighs on all alike) and the ratio to the plain loop.

    PYTHONPATH=src .venv/bin/python bench/llm_step_cpu.py [--items 3000] [--latency 0.2] [--concurrency 64]
        [--repeat 1] [--layers plain,client,per_reply,per_turn,cached,step,prompt_filter,prompt_filter_per_turn]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench_project import (  # fixes sys.path
    BenchQuestion, BenchQuestionStep, bench_pipeline, bench_recipe, make_project, prompt_filter_pipeline,
)

from sftgen.llm.client import ChatClient
from sftgen.llm.templates import Templates
from sftgen.project import Project
from sftgen.run.executors.local import LocalExecutor
from sftgen.run.open import open_run
from sftgen.store import Store
from tests.fakes.fake_config import FakeServerConfig
from tests.fakes.fake_openai_server import spawn_fake_server

LAYERS = ("plain", "client", "per_reply", "per_turn", "cached", "step", "prompt_filter", "prompt_filter_per_turn")
PARAMS = {"temperature": 0.7, "max_tokens": 256, "seed": None}


def chunk_messages(project_dir: Path, store: Store) -> list[list[dict[str, str]]]:
    templates = Templates(project_dir)
    return [templates.render_messages(BenchQuestionStep.template, {"text": chunk.text})
            for _, chunk in store.pending_inputs("bench_question", ["seed"], "-", 0, limit=10**9)]


def cpu_ms(run, requests: int, layer: str = "") -> tuple[float, float]:
    """CPU ms per request and wall seconds of `run` (`layer` names it, for bench/llm_store_split.py)."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return 1000 * (time.process_time() - cpu) / max(1, requests), time.perf_counter() - wall


async def plain_loop(bodies: list[bytes], base_url: str, concurrency: int) -> None:
    import aiohttp

    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def worker() -> None:
            for body in queue:
                async with session.post(f"{base_url}/chat/completions", data=body,
                                        headers={"Content-Type": "application/json"}) as response:
                    payload = await response.json()
                json.loads(payload["choices"][0]["message"]["content"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def bench_client(base_url: str, concurrency: int, cache, window: bool) -> ChatClient:
    client = ChatClient(base_url, "fake-model", max_concurrency=concurrency, cache=cache)
    if not window:
        client.cache_writes.window_share = 0.0  # each loop turn's replies committed in the next turn
    return client


async def client_loop(messages: list[list[dict[str, str]]], base_url: str, concurrency: int,
                      cache: Store | None, window: bool = True) -> None:
    client = bench_client(base_url, concurrency, cache, window)
    queue = iter(messages)

    async def worker() -> None:
        for one in queue:
            await client.complete(one, schema=BenchQuestion, temperature=0.7, max_tokens=256, step="bench")

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.aclose()


class CommitPerReply:
    """The store as a request cache without `transaction()`: each reply is committed on its own."""

    def __init__(self, store: Store):
        self.store = store

    def cache_get(self, key: str):
        return self.store.cache_get(key)

    def cache_put(self, *row) -> None:
        self.store.cache_put(*row)


async def step_run(project_dir: Path, store: Store, base_url: str, concurrency: int,
                   pipeline_of=bench_pipeline, step: str = BenchQuestionStep.name, window: bool = True) -> None:
    recipe = bench_recipe(base_url, concurrency, advisory=(step,) if step == "prompt_filter" else ())
    client = bench_client(base_url, concurrency, store, window)
    pipeline = pipeline_of()
    async with open_run(Project(project_dir, recipe), pipeline, store, llm=client) as ctx:
        await LocalExecutor().run([pipeline.step(step)], ctx)
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.2, help="the fake server's fixed latency, seconds")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the median is printed")
    parser.add_argument("--layers", default=",".join(LAYERS), help="which layers to run (plain always runs)")
    args = parser.parse_args()
    n, c = args.items, args.concurrency
    config = FakeServerConfig(latency_kind="fixed", latency_ms=1000 * args.latency)
    layers = ("plain", *(name for name in LAYERS[1:] if name in args.layers.split(",")))
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in layers}
    with tempfile.TemporaryDirectory(prefix="sftgen-llmcpu-") as tmp, spawn_fake_server(config) as server:
        url = server.base_url
        builder = ChatClient(url, "fake-model")
        for round_ in range(args.repeat):
            # each layer and round gets chunks of its own (salted): no request is answered from a cache row
            dirs = {name: Path(tmp) / f"{name}-{round_}" for name in layers}
            stores = {name: make_project(dirs[name], n, salt=f"{name}-{round_}",
                                         kind="prompt" if name.startswith("prompt_filter") else "chunk")
                      for name in layers}
            messages = {name: chunk_messages(dirs[name], stores[name]) for name in layers
                        if not name.startswith("prompt_filter")}
            bodies = [json.dumps(builder.request_body(m, PARAMS, BenchQuestion), ensure_ascii=False).encode()
                      for m in messages["plain"]]
            runs = {
                "plain": lambda: plain_loop(bodies, url, c),
                "client": lambda: client_loop(messages["client"], url, c, None),
                "per_reply": lambda: client_loop(messages["per_reply"], url, c, CommitPerReply(stores["per_reply"])),
                "per_turn": lambda: client_loop(messages["per_turn"], url, c, stores["per_turn"], window=False),
                "cached": lambda: client_loop(messages["cached"], url, c, stores["cached"]),
                "step": lambda: step_run(dirs["step"], stores["step"], url, c),
                "prompt_filter": lambda: step_run(dirs["prompt_filter"], stores["prompt_filter"], url, c,
                                                  prompt_filter_pipeline, "prompt_filter"),
                "prompt_filter_per_turn": lambda: step_run(dirs["prompt_filter_per_turn"],
                                                           stores["prompt_filter_per_turn"], url, c,
                                                           prompt_filter_pipeline, "prompt_filter", window=False),
            }
            for name in layers:
                results[name].append(cpu_ms(lambda: asyncio.run(runs[name]()), n, name))
            for store in stores.values():
                store.close()
    medians = {name: (statistics.median(ms for ms, _ in rounds), statistics.median(w for _, w in rounds))
               for name, rounds in results.items()}
    plain = medians["plain"][0]
    print(f"{n} requests, {c} in flight, fixed latency {args.latency:g} s (ideal {n / c * args.latency:.1f} s), "
          f"median of {args.repeat} round(s)")
    labels = {"plain": "plain aiohttp loop", "client": "ChatClient, no cache",
              "per_reply": "ChatClient + cache, commit per reply", "per_turn": "ChatClient + cache, commit per turn",
              "cached": "ChatClient + cache, commit window",
              "step": "LLMStep through the LocalExecutor",
              "prompt_filter": "prompt_filter through the LocalExecutor",
              "prompt_filter_per_turn": "prompt_filter, commit per turn"}
    for name, (ms, wall) in medians.items():
        print(f"  {labels[name]:<40} {ms:6.3f} ms CPU/request  x{ms / plain:5.2f} plain  wall {wall:5.1f} s")


if __name__ == "__main__":
    main()
