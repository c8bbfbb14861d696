"""Embedder benchmark: how long the one-time distillation takes (with --distill, into a scratch cache
dir) and how many prompts a second the static embedder encodes.

    .venv/bin/python bench/embed_bench.py [--distill] [--count 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from dedup_corpus import make_corpus  # noqa: E402

from sftgen.embed import load_embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distill", action="store_true", help="also time a fresh distillation")
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.distill:
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            load_embedder(Path(scratch))
            print(f"first distillation + load: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    embedder = load_embedder()
    print(f"load from the cache: {time.perf_counter() - started:.2f} s ({embedder.name}, dim {embedder.dim})")
    texts = [prompt.text for prompt in make_corpus(args.count)]
    words = sum(len(text.split()) for text in texts) / len(texts)
    started, cpu_started = time.perf_counter(), time.process_time()
    embedder.encode(texts)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"encoded {len(texts)} prompts (~{words:.0f} words each) in {wall:.2f} s wall, {cpu:.2f} s CPU: "
          f"{len(texts) / wall:,.0f} prompts/s wall, {len(texts) / cpu:,.0f} prompts/s per CPU second")


if __name__ == "__main__":
    main()
