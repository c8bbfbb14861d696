"""Memory: the pipeline streams, so peak memory stays flat as the input grows.

Runs ingest + chunk (`sftgen run --until chunk`, the real runner and store) over 10k and 100k small
documents (100 per JSON Lines file), each size in its own subprocess, and prints each run's peak RSS (ru_maxrss) above the
process's RSS after imports, and the ratio.

    .venv/bin/python bench/memory_bench.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS_PER_FILE = 100
DOC = ("Quarks carry colour charge; gluons bind them into hadrons. Note {i} adds a worked "
       "example about confinement and asymptotic freedom, with numbers that differ per note: {i}.\n")
RECIPE = """project: memory-bench
domain:
  name: particle physics
  subdomains:
    - {name: quarks, share: 1.0}
chunking: {size: 400, overlap: 40}
llm: {provider: openai, base_url: "http://127.0.0.1:9/v1", model: unused}
"""


def make_project(root: Path, n_docs: int) -> None:
    """Small documents, 100 to a JSON Lines file (one document per row), so that making 100k of them
    does not take longer than processing them."""
    (root / "docs").mkdir(parents=True)
    (root / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
    for start in range(0, n_docs, DOCS_PER_FILE):
        rows = (json.dumps({"title": f"Note {i}", "text": DOC.format(i=i)})
                for i in range(start, min(n_docs, start + DOCS_PER_FILE)))
        (root / "docs" / f"notes{start // DOCS_PER_FILE:05d}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def child(root: Path) -> None:
    from sftgen.project import Project
    from sftgen.run.runner import RunOptions, run_project

    project = Project.open(root)
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    summary = asyncio.run(run_project(project, RunOptions(until="chunk")))
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_mb": baseline_kb / 1024, "peak_mb": peak_kb / 1024, "seconds": seconds,
                      "processed": summary.processed}))


def measure(n_docs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="sftgen-mem-") as tmp:
        root = Path(tmp) / "project"
        make_project(root, n_docs)
        done = subprocess.run([sys.executable, __file__, "--child", str(root)], capture_output=True, text=True,
                              check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return
    results = {}
    for size in (int(s) for s in args.sizes.split(",")):
        result = measure(size)
        results[size] = result
        growth = result["peak_mb"] - result["baseline_mb"]
        print(f"{size:>7} documents: peak RSS {result['peak_mb']:7.1f} MB (after imports {result['baseline_mb']:.1f} MB, "
              f"+{growth:.1f} MB during the run), {result['seconds']:.1f} s, processed {result['processed']}",
              flush=True)
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        print(f"peak ratio {sizes[-1]} / {sizes[0]} documents: {large['peak_mb'] / small['peak_mb']:.2f}x "
              f"(growth during the run: {large['peak_mb'] - large['baseline_mb']:.1f} MB vs "
              f"{small['peak_mb'] - small['baseline_mb']:.1f} MB) for {sizes[-1] / sizes[0]:.0f}x the input")


if __name__ == "__main__":
    main()
