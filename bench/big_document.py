"""Memory and time of near-duplicate detection for one big document (issue 12, item 8).

Makes a project whose docs/ hold one N MB text file (40 by default), ingests it (`run --until ingest`),
then measures, each phase in its own subprocess, the process's RSS just before the phase (the text
already read where the phase needs it), its peak RSS (ru_maxrss) at the end, and the seconds it took:

- full MinHash: the signature of the whole text, as research made it before (every run);
- bounded signature: `near_duplicates.minhash_of` (reads the first MAX_TEXT_CHARS characters);
- ledger, first run: `research_budget` over the store holding the document (makes and stores its signature);
- ledger, next run: the same with the signature stored (loads it, reads no text).

    .venv/bin/python bench/big_document.py [--mb 40] [--skip-full]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = """project: big-document-bench
domain:
  name: particle physics
  subdomains:
    - {name: quarks, share: 1.0}
sources: {max_file_mb: 200}
llm: {provider: openai, base_url: "http://127.0.0.1:9/v1", model: unused}
"""
VOCABULARY = ("quark gluon hadron meson baryon colour charge flavour confinement lattice coupling scale "
              "jet parton proton neutron pion kaon decay width spin parity symmetry vacuum").split()


def make_project(root: Path, megabytes: float) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
    lines, size, i = [], 0, 0
    while size < megabytes * 1_000_000:
        words = [VOCABULARY[(i * 7 + j * 13 + i // 97) % len(VOCABULARY)] for j in range(12)]
        line = f"Sentence {i} says that " + " ".join(words) + f" with the number {i * 31 % 100003}.\n"
        lines.append(line)
        size += len(line)
        i += 1
    (root / "docs" / "big.txt").write_text("".join(lines), encoding="utf-8")
    return root


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def full_minhash(text: str):
    """Research's signature before issue 12: every word of the whole text."""
    from datasketch import MinHash

    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i: i + 5]) for i in range(max(1, len(words) - 5 + 1))}
    signature = MinHash(num_perm=64)
    signature.update_batch([s.encode("utf-8") for s in shingles])
    return signature


def phase(name: str, project: Path, megabytes: float) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    if name == "make":
        from sftgen.project import Project
        from sftgen.run.runner import RunOptions, run_project

        make_project(project, megabytes)
        asyncio.run(run_project(Project.open(project), RunOptions(until="ingest")))
        return {"phase": name, "mb": (project / "docs" / "big.txt").stat().st_size / 1e6}
    from sftgen.pipeline import standard_pipeline
    from sftgen.project import Project
    from sftgen.research import budget
    from sftgen.research.near_duplicates import minhash_of
    from sftgen.run.open import open_run

    async def research_budget(opened: Project, store) -> None:
        async with open_run(opened, standard_pipeline(opened.recipe), store) as ctx:
            budget.research_budget(ctx)

    opened = Project.open(project)
    store = opened.store()
    text = None
    if name in ("full", "bounded"):
        text = (project / "docs" / "big.txt").read_text(encoding="utf-8")
    before, peak_before = current_rss_mb(), peak_rss_mb()
    started = time.perf_counter()
    if name == "full":
        full_minhash(text)
    elif name == "bounded":
        minhash_of(text)
    else:
        asyncio.run(research_budget(opened, store))
    seconds = time.perf_counter() - started
    store.close()
    return {"phase": name, "seconds": round(seconds, 3), "rss_before_mb": round(before, 1),
            "peak_mb": round(peak_rss_mb(), 1), "peak_before_mb": round(peak_before, 1)}


def run_phase(name: str, project: Path, megabytes: float = 0) -> dict:
    """In a process of its own, started from this small one (Linux counts the RSS a process had when it
    started another into the other's peak)."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--project", str(project), "--mb", str(megabytes)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=40)
    parser.add_argument("--skip-full", action="store_true", help="skip the slow whole-text MinHash")
    parser.add_argument("--phase")
    parser.add_argument("--project")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, Path(args.project), args.mb)))
        return
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "big"
        size = run_phase("make", project, args.mb)["mb"]
        results = [run_phase(name, project) for name in
                   ([] if args.skip_full else ["full"]) + ["bounded", "ledger-first", "ledger-next"]]
    print(f"one {size:.1f} MB document")
    for result in results:
        print(f"  {result['phase']:<13} {result['seconds']:>8.3f} s  RSS before {result['rss_before_mb']:>7.1f} MB, "
              f"peak {result['peak_mb']:>7.1f} MB (peak before the phase {result['peak_before_mb']:.1f} MB)")
    by_name = {result["phase"]: result for result in results}
    if "full" in by_name:
        full, bounded = by_name["full"], by_name["bounded"]
        growth = {name: by_name[name]["peak_mb"] - by_name[name]["rss_before_mb"] for name in ("full", "bounded")}
        print(f"full / bounded: time x{full['seconds'] / max(bounded['seconds'], 1e-3):.0f}; "
              f"memory the phase added: {growth['full']:.0f} MB vs {max(growth['bounded'], 0):.0f} MB")


if __name__ == "__main__":
    main()
