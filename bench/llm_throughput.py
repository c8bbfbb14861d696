"""LLM throughput: the pipeline's LLM path against a plain asyncio loop of the openai client.

Starts the fake OpenAI-compatible server as a subprocess (its own core) on 127.0.0.1 and, for each
scenario, sends the same requests at the same concurrency twice: once with a plain `AsyncOpenAI` loop
(a semaphore, `max_retries` as ours, JSON parsed and validated like ours), once through the pipeline (a
real LLMStep run by the LocalExecutor over N chunks in a store, with the ChatClient and its request cache).
Prints time ratios (pipeline / plain, and against the ideal schedule) and client CPU per request.

    .venv/bin/python bench/llm_throughput.py [--items N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_project import BenchQuestion, BenchQuestionStep, bench_pipeline, bench_recipe, make_project  # also fixes sys.path

import httpx
import openai

from sftgen.run.executors.local import LocalExecutor
from sftgen.llm.client import ChatClient
from sftgen.llm.structured import parse_reply
from sftgen.llm.templates import Templates
from sftgen.project import Project
from sftgen.run.open import open_run
from tests.fakes.fake_config import FakeServerConfig
from tests.fakes.fake_openai_server import spawn_fake_server
from tests.fakes.fake_replies import ParsedRequest, draw_latency_s, seeded_rng

MAX_RETRIES = 6


@dataclass
class Timing:
    seconds: float
    cpu_s: float
    requests: int
    ok: int

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / max(1, self.requests)


async def run_pipeline(project_dir: Path, store, base_url: str, concurrency: int) -> Timing:
    recipe = bench_recipe(base_url, concurrency, MAX_RETRIES)
    client = ChatClient(base_url, "fake-model", max_concurrency=concurrency, max_retries=MAX_RETRIES,
                        structured_output="json_schema", cache=store)
    pipeline = bench_pipeline()
    step = pipeline.step(BenchQuestionStep.name)
    async with open_run(Project(project_dir, recipe), pipeline, store, llm=client) as ctx:
        cpu0, t0 = time.process_time(), time.perf_counter()
        await LocalExecutor().run([step], ctx)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await client.aclose()
    ok = store.conn.execute("SELECT COUNT(*) FROM progress WHERE step=? AND outcome='kept'", (step.name,)).fetchone()[0]
    return Timing(seconds, cpu, client.stats.requests, ok)


def request_bodies(project_dir: Path, store, base_url: str) -> list[dict]:
    """The exact bodies the pipeline sends for the store's chunks (rendered template, params, schema)."""
    templates = Templates(project_dir)
    builder = ChatClient(base_url, "fake-model", structured_output="json_schema")
    bodies = []
    for _, chunk in store.pending_inputs("bench_question", ["seed"], "-", 0, limit=10**9):
        messages = templates.render_messages(BenchQuestionStep.template, {"text": chunk.text})
        bodies.append(builder.request_body(messages, {"temperature": 0.7, "max_tokens": 256, "seed": None},
                                           BenchQuestion))
    asyncio.run(builder.aclose())
    return bodies


async def run_plain(bodies: list[dict], base_url: str, concurrency: int) -> Timing:
    http = openai.DefaultAsyncHttpxClient(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency))
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=MAX_RETRIES, http_client=http)
    slots = asyncio.Semaphore(concurrency)
    ok = 0

    async def one(body: dict) -> None:
        nonlocal ok
        async with slots:
            reply = await client.chat.completions.create(**body)
        parse_reply(reply.choices[0].message.content or "", BenchQuestion)
        ok += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(one(body) for body in bodies), return_exceptions=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await client.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"  plain loop: {len(failures)} failed, first: {failures[0]!r}")
    return Timing(seconds, cpu, len(bodies), ok)  # the openai client does not count its retries


def ideal_seconds(bodies: list[dict], config: FakeServerConfig, concurrency: int) -> float:
    """The makespan of a perfect pool (each slot refilled at once, zero client overhead) over the
    latencies the fake server will draw for these bodies (first attempt; no faults)."""
    latencies = [draw_latency_s(config, seeded_rng("latency", config.seed, ParsedRequest.from_body(b).body_digest, 0), 0)
                 for b in bodies]
    slots = [0.0] * concurrency
    for latency in latencies:
        heapq.heapreplace(slots, slots[0] + latency)
    return max(slots)


def scenario(server, name: str, config: dict, n_items: int, concurrency: int, workdir: Path) -> dict:
    server.set_config(FakeServerConfig(**config).to_dict())
    project_dir = workdir / name
    store = make_project(project_dir, n_items, salt=name)
    bodies = request_bodies(project_dir, store, server.base_url)
    server.reset()
    plain = asyncio.run(run_plain(bodies, server.base_url, concurrency))
    plain_requests = server.stats()["requests"]
    server.reset()  # the same bodies see the same fault draws (they are seeded by body and attempt)
    pipe = asyncio.run(run_pipeline(project_dir, store, server.base_url, concurrency))
    served = server.stats()
    store.close()
    result = {
        "name": name, "items": n_items, "concurrency": concurrency,
        "plain_s": plain.seconds, "pipeline_s": pipe.seconds, "ratio": pipe.seconds / plain.seconds,
        "ideal_s": ideal_seconds(bodies, FakeServerConfig(**config), concurrency),
        "plain_cpu_ms": 1000 * plain.cpu_s / plain_requests, "pipeline_cpu_ms": pipe.cpu_ms_per_request,
        "plain_ok": plain.ok, "pipeline_ok": pipe.ok, "pipeline_requests": served["requests"],
        "outcomes": served["outcomes"],
    }
    print(f"{name:<22} c={concurrency:<4} n={n_items:<5} plain {plain.seconds:6.2f}s  pipeline {pipe.seconds:6.2f}s  "
          f"ratio {result['ratio']:.3f}  ideal {result['ideal_s']:.2f}s  "
          f"cpu/req plain {result['plain_cpu_ms']:.3f} ms pipeline {result['pipeline_cpu_ms']:.3f} ms  "
          f"kept {pipe.ok}/{n_items} (plain {plain.ok})  requests {served['requests']}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=4096, help="requests per scenario")
    parser.add_argument("--quick", action="store_true", help="a quarter of the items")
    parser.add_argument("--only", default="", help="comma-separated scenarios (no summary), e.g. clean,err5xx")
    args = parser.parse_args()
    n = args.items // 4 if args.quick else args.items
    fixed = {"latency_kind": "fixed", "latency_ms": 250}
    scenarios = {
        "fixed64": ("fixed-64", fixed, n // 2, 64),
        "fixed256": ("fixed-256", fixed, n, 256),
        "lognormal": ("lognormal-64", {"latency_kind": "lognormal", "latency_ms": 250, "latency_sigma": 1.0}, n // 2, 64),
        # Retries end a run with a tail of backoffs (about 1-2 s here) whatever its length; the error runs are
        # 16 s long so that the steady state, not that tail, dominates, as it does over a real 10k-item run.
        "clean": ("clean-64", fixed, n, 64),
        "err5xx": ("5xx-10pct-64", {**fixed, "rate_500": 0.10}, n, 64),
        "r429": ("429-2pct-64", {**fixed, "rate_429": 0.02, "retry_after_s": 0.5}, n, 64),
    }
    chosen = args.only.split(",") if args.only else list(scenarios)
    results = {}
    with tempfile.TemporaryDirectory(prefix="sftgen-bench-") as tmp, spawn_fake_server(FakeServerConfig()) as server:
        for key in chosen:
            name, config, items, concurrency = scenarios[key]
            results[key] = scenario(server, name, config, items, concurrency, Path(tmp))
    if not args.only:
        report(results)


def report(r: dict) -> None:
    def line(label: str, value: float, goal: float, unit: str = "x") -> None:
        verdict = "ok" if value <= goal else "MISSED"
        print(f"  {label:<48} {value:7.3f}{unit}  (goal <= {goal}{unit})  {verdict}")

    print("\nsummary")
    line("pipeline / plain, fixed latency, 64 in flight", r["fixed64"]["ratio"], 1.05)
    line("pipeline / plain, fixed latency, 256 in flight", r["fixed256"]["ratio"], 1.2)
    line("pipeline / ideal, lognormal sigma 1", r["lognormal"]["pipeline_s"] / r["lognormal"]["ideal_s"], 1.15)
    print(f"  {'plain / ideal, lognormal sigma 1 (for reference)':<48} "
          f"{r['lognormal']['plain_s'] / r['lognormal']['ideal_s']:7.3f}x")
    line("pipeline 10% 5xx / pipeline clean", r["err5xx"]["pipeline_s"] / r["clean"]["pipeline_s"], 1.2)
    line("pipeline 2% 429 (Retry-After 0.5 s) / clean", r["r429"]["pipeline_s"] / r["clean"]["pipeline_s"], 1.2)
    worst_cpu = max(x["pipeline_cpu_ms"] for x in r.values())
    line("pipeline client CPU per request (worst scenario)", worst_cpu, 1.0, " ms")
    lost = sum(x["items"] - x["pipeline_ok"] for x in r.values())
    print(f"  {'items lost (not kept) over all scenarios':<48} {lost:7d}   (goal 0)  {'ok' if lost == 0 else 'MISSED'}")
    print(json.dumps({k: {kk: (round(vv, 4) if isinstance(vv, float) else vv) for kk, vv in v.items()}
                      for k, v in r.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
