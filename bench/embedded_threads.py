"""How many threads the embedded llama.cpp server should use: seconds per request with 1, 2, ... threads,
on an idle machine and on a busy one (CPU hogs taking cores, as the pipeline, the embedder or another job
do), in one run. Each request is a chunk-filter-sized prompt (about 450 tokens) with a JSON-schema grammar
and a short structured reply, like most of sftgen's requests.

    .venv/bin/python bench/embedded_threads.py [--threads 1,2] [--requests 6] [--hogs 0,1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx  # noqa: E402

from sftgen.llm.embedded import EmbeddedServer  # noqa: E402

PASSAGE = (
    "The watt (symbol: W) is the unit of power or radiant flux in the International System of Units (SI), "
    "equal to 1 joule per second or 1 kg m2 s-3. It is used to quantify the rate of energy transfer. The watt "
    "is named in honour of James Watt, the eighteenth-century Scottish inventor, mechanical engineer and "
    "chemist who improved the Newcomen engine with his own steam engine in 1776. Watt's invention was "
    "fundamental for the Industrial Revolution. When an object's velocity is held constant at one metre per "
    "second against a constant opposing force of one newton, the rate at which work is done is one watt. "
    "In terms of electromagnetism, one watt is the rate at which electrical work is performed when a current "
    "of one ampere flows across an electrical potential difference of one volt. Two additional unit "
    "conversions for watt can be found using the above equation and Ohm's law. A person having a mass of "
    "100 kg who climbs a 3-metre-high ladder in 5 seconds is doing work at a rate of about 600 watts. "
)
SCHEMA = {
    "type": "object",
    "properties": {
        "explanation": {"type": "string"},
        "verdict": {"enum": ["keep", "off_domain", "boilerplate", "too_thin", "garbled"], "type": "string"},
    },
    "required": ["explanation", "verdict"],
}


def hog() -> None:
    while True:
        pass


def request(base_url: str, index: int) -> tuple[float, int, int]:
    body = {
        "model": "bench", "temperature": 0, "max_tokens": 96, "seed": index,
        "response_format": {"type": "json_object", "schema": SCHEMA},
        "messages": [
            {"role": "system", "content": "You judge passages for a question-writing project about physics. "
             "You reply in JSON."},
            {"role": "user", "content": f"Passage {index}:\n{PASSAGE}\n{PASSAGE[: 200 + 40 * index]}\n"
             "Is this passage informative about physics? Explain in one sentence, then give the verdict."},
        ],
    }
    started = time.perf_counter()
    reply = httpx.post(f"{base_url}/chat/completions", json=body, timeout=600).json()
    usage = reply.get("usage", {})
    return time.perf_counter() - started, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)


def measure(threads: int, hogs: int, requests: int) -> list[float]:
    with tempfile.TemporaryDirectory() as scratch:
        server = EmbeddedServer(None, 2048, Path(scratch) / "server.log", threads=threads)
        server.start()
        workers = [multiprocessing.Process(target=hog, daemon=True) for _ in range(hogs)]
        try:
            request(server.base_url, 99)  # warm-up: the model's pages in memory
            for worker in workers:
                worker.start()
            time.sleep(0.5)
            results = [request(server.base_url, i) for i in range(requests)]
        finally:
            for worker in workers:
                worker.terminate()
            server.stop()
    seconds = [r[0] for r in results]
    prompt_tokens = statistics.mean(r[1] for r in results)
    completion_tokens = statistics.mean(r[2] for r in results)
    print(f"threads {threads}, {hogs} busy core(s): median {statistics.median(seconds):6.2f} s/request "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}; {prompt_tokens:.0f} prompt + {completion_tokens:.0f} "
          f"completion tokens)", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--hogs", default="0,1", help="CPU-bound processes running beside the server")
    parser.add_argument("--requests", type=int, default=6)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} before the run")
    for hogs in (int(h) for h in args.hogs.split(",")):
        medians = {}
        for threads in (int(t) for t in args.threads.split(",")):
            medians[threads] = statistics.median(measure(threads, hogs, args.requests))
        fastest = min(medians, key=medians.get)
        print(f"  with {hogs} busy core(s): fastest is {fastest} thread(s); "
              + ", ".join(f"{t} threads x{m / medians[fastest]:.2f}" for t, m in medians.items()))


if __name__ == "__main__":
    main()
