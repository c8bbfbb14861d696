"""Incremental dedup (issue 17 item 4): what adding 1,000 prompts to a project of 20,000 costs, against the
first 1,000.

Builds N kept prompts (bench/dedup_corpus.py: synthetic prompts with planted exact, near and paraphrase
duplicates; the first N deduplicated from scratch, as one run would, and the kept ones written to a dedup
index in a temporary folder), then dedups M new prompts of the same corpus three ways, with the functions
the `dedup` step calls and the real static embedder:
- first M: the M prompts in an empty project;
- M added to N, from scratch: every kept prompt hashed, embedded and counted again (what a run does
  without the index, and what every run did before it);
- M added to N, incremental: the kept prompts' features from the index (sftgen.dedup.index), only the M
  new ones hashed and embedded, then the kept ones added to the index.
It checks that both ways of adding decide the same, and prints process CPU (all threads) and wall per case
and the ratios to the first M. Goal: incremental / first M about 1 (from scratch grows with N).

    .venv/bin/python bench/dedup_incremental.py [--kept 20000] [--added 1000] [--corpus slots|mixed]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from dedup_corpus import make_corpus  # noqa: E402
from dedup_corpus_mixed import make_mixed_corpus  # noqa: E402

from sftgen.dedup.core import check_new  # noqa: E402
from sftgen.dedup.corpus import Corpus  # noqa: E402
from sftgen.dedup.index import DedupIndex, row_of  # noqa: E402
from sftgen.embed import load_embedder  # noqa: E402
from sftgen.recipe.dedup_settings import Dedup  # noqa: E402
from sftgen.records import stable_hash  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=int, default=20_000, help="prompts before the added ones (N)")
    parser.add_argument("--added", type=int, default=1_000, help="prompts added (M)")
    parser.add_argument("--corpus", choices=["slots", "mixed"], default="slots")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings per case")
    args = parser.parse_args()
    settings = Dedup()
    embedder = load_embedder()
    make = make_corpus if args.corpus == "slots" else make_mixed_corpus
    prompts = [(f"pro_{stable_hash(p.text, i)}", p.text) for i, p in enumerate(make(args.kept + args.added, 0.3, 7))]
    before, added = sorted(prompts[: args.kept]), sorted(prompts[args.kept:])  # the step orders new prompts by id

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        kept = dedup_with_index(Path(folder), [], before, settings, embedder)[0]
        print(f"{args.corpus} corpus: {args.kept:,} prompts deduplicated into {len(kept):,} kept "
              f"({time.perf_counter() - started:.1f} s, index written); {args.added:,} added; settings {settings.model_dump()}")

        def first_added() -> dict:
            return decisions(check_new(Corpus([t for _, t in added], 0, settings, embedder), settings))

        def from_scratch() -> dict:
            texts = [t for _, t in kept] + [t for _, t in added]
            return decisions(check_new(Corpus(texts, len(kept), settings, embedder), settings))

        def incremental() -> dict:
            with tempfile.TemporaryDirectory() as copy:  # each repeat starts from the index of the N kept
                (Path(copy) / "anchors.db").write_bytes((Path(folder) / "anchors.db").read_bytes())
                return dedup_with_index(Path(copy), kept, added, settings, embedder)[1]

        figures = {}
        results = {}
        for label, case in ((f"first {args.added:,}", first_added),
                            (f"{args.added:,} added to {len(kept):,}, from scratch", from_scratch),
                            (f"{args.added:,} added to {len(kept):,}, incremental", incremental)):
            figures[label], results[label] = best_of(case, args.repeat)
        labels = list(figures)
        same = results[labels[1]] == results[labels[2]]
        print(f"\nfrom scratch and incremental decide the same: {same} "
              f"({len(results[labels[2]])} of {args.added:,} added prompts dropped)")
        base_cpu = figures[labels[0]][0]
        print(f"{'case':<44} {'CPU s':>7} {'wall s':>7} {'CPU / first':>12}")
        for label, (cpu, wall) in figures.items():
            print(f"{label:<44} {cpu:7.2f} {wall:7.2f} {cpu / base_cpu:11.2f}x")
        print(f"\nincremental vs from scratch: {figures[labels[1]][0] / figures[labels[2]][0]:.1f}x less CPU")
        if not same:
            sys.exit("incremental and from-scratch decisions differ")


def dedup_with_index(folder: Path, kept: list[tuple[str, str]], new: list[tuple[str, str]], settings, embedder):
    """What the step does with the index: the kept prompts' features from it, the new ones checked, the
    kept new ones added. Returns the prompts kept after it and the decisions."""
    index = DedupIndex(folder, settings, embedder)
    try:
        features = index.anchor_features([i for i, _ in kept], [t for _, t in kept])
        texts = [t for _, t in kept] + [t for _, t in new]
        corpus = Corpus(texts, len(kept), settings, embedder, features)
        report = check_new(corpus, settings)
        kept_now = [i for i in range(len(kept), len(texts)) if i not in report.duplicates]
        index.add([row_of(new[i - len(kept)][0], texts[i], *corpus.new_features(i)) for i in kept_now])
    finally:
        index.close()
    return kept + [new[i - len(kept)] for i in kept_now], decisions(report)


def decisions(report) -> dict:
    return {index: (d.of, d.method, d.similarity) for index, d in report.duplicates.items()}


def best_of(case, repeat: int):
    best, result = None, None
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        result = case()
        figures = (time.process_time() - cpu, time.perf_counter() - wall)
        best = figures if best is None or figures[0] < best[0] else best
    return best, result


if __name__ == "__main__":
    main()
