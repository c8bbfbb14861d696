"""Web research throughput on this machine, in one run (no network beyond 127.0.0.1):

- local BM25 search: index time and queries per second over a synthetic corpus;
- fetcher: pages per second from a local server answering after a fixed delay, with per-host
  concurrency 1 and 8 (the ratio shows the per-host limit doing its job), and from the page cache;
- near-duplicate check (MinHash LSH): pages per second.

    .venv/bin/python bench/search_fetch.py [--docs 5000] [--pages 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web  # noqa: E402

from sftgen.fetch import Fetcher  # noqa: E402
from sftgen.recipe.research_settings import Fetch  # noqa: E402
from sftgen.research.near_duplicates import NearDuplicateIndex  # noqa: E402
from sftgen.search.local_bm25 import LocalBM25Backend  # noqa: E402
from tests.support.local_http import serving  # noqa: E402

WORDS = ("quark gluon hadron meson baryon colour charge flavour spin mass decay lattice coupling jet "
         "proton neutron pion kaon top bottom charm strange up down confinement freedom energy scale").split()
SERVER_DELAY_S = 0.05


def text(rng: random.Random, n: int = 120) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def bench_bm25(docs: int) -> None:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "corpus").mkdir()
        for i in range(docs):
            (root / "corpus" / f"d{i}.txt").write_text(text(rng), encoding="utf-8")
        backend = LocalBM25Backend(root / "corpus", root, index_dir=root / "index")
        started = time.perf_counter()
        asyncio.run(backend.ensure_index())
        indexed = time.perf_counter() - started
        again = LocalBM25Backend(root / "corpus", root, index_dir=root / "index")
        started = time.perf_counter()
        asyncio.run(again.ensure_index())
        loaded = time.perf_counter() - started
        assert again.loaded_from_disk
        queries = [" ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(4)) for _ in range(300)]
        started = time.perf_counter()
        for query in queries:
            backend.search_now(query, 5)
        searched = time.perf_counter() - started
    print(f"bm25 local: {docs} docs read+indexed in {indexed:.2f}s, loaded from disk in {loaded:.2f}s "
          f"(x{indexed / loaded:.0f}); {len(queries) / searched:.0f} queries/s")


def page_app() -> web.Application:
    app = web.Application()
    rng = random.Random(1)
    body = "<html><body><article>" + "".join(f"<p>{text(rng, 40)}</p>" for _ in range(10)) + "</article></body></html>"

    async def page(request):
        await asyncio.sleep(SERVER_DELAY_S)
        return web.Response(text=body, content_type="text/html")

    app.router.add_get("/p/{n}", page)
    return app


async def fetch_all(root: str, pages: int, per_host: int, cache_dir: Path | None) -> float:
    settings = Fetch(per_host_concurrency=per_host, concurrency=64)
    async with Fetcher(settings, allow_private=True, cache_dir=cache_dir) as fetcher:
        started = time.perf_counter()
        results = await asyncio.gather(*(fetcher.fetch(f"{root}/p/{n}") for n in range(pages)))
        elapsed = time.perf_counter() - started
    assert all(page.ok for page in results), [p.reason for p in results if not p.ok][:3]
    return elapsed


def bench_fetch(pages: int) -> None:
    with serving(page_app()) as root, tempfile.TemporaryDirectory() as cache:
        one = asyncio.run(fetch_all(root, pages, 1, None))
        eight = asyncio.run(fetch_all(root, pages, 8, Path(cache)))
        cached = asyncio.run(fetch_all(root, pages, 8, Path(cache)))
    print(f"fetch: {pages} pages, server delay {SERVER_DELAY_S * 1000:.0f} ms: per-host 1: {pages / one:.0f} pages/s; "
          f"per-host 8: {pages / eight:.0f} pages/s (x{one / eight:.1f}); from cache: {pages / cached:.0f} pages/s")


def bench_near_duplicates(pages: int) -> None:
    rng = random.Random(2)
    texts = [text(rng, 600) for _ in range(pages)]
    index = NearDuplicateIndex(0.8)
    started = time.perf_counter()
    for i, page in enumerate(texts):
        index.check_and_add(str(i), page)
    elapsed = time.perf_counter() - started
    print(f"near-duplicate check: {pages} pages of 600 words: {pages / elapsed:.0f} pages/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    bench_bm25(args.docs)
    bench_fetch(args.pages)
    bench_near_duplicates(args.pages)


if __name__ == "__main__":
    main()
