"""CPU of the dedup step's own work over the prompts a kept bench project's dedup step saw (the prompts
`prompt_filter` passed on), as a first run checks them (no anchors): each method's CPU seconds, and for the
semantic method the candidates found with its first pass (numpy, lower triangle; faiss for the texts near
an earlier one) against a faiss search of every text, in the same run: the ratio and that the candidates
are the same texts.

    PYTHONPATH=src .venv/bin/python bench/dedup_project_cpu.py DIR/project-20000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sftgen.dedup import semantic
from sftgen.dedup.core import check_new
from sftgen.dedup.corpus import Corpus
from sftgen.embed.embedder import load_embedder
from sftgen.recipe import load_recipe
from sftgen.store.store import Store


def cpu(work):
    started = time.process_time()
    result = work()
    return result, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path)
    args = parser.parse_args()
    settings = load_recipe(args.project / "recipe.yaml").dedup
    store = Store(args.project / ".sftgen" / "store.db")
    texts = [text for _, text in sorted((r.id, r.text) for r in store.emits.emitted(["prompt_filter"], "prompt"))]
    embedder = load_embedder()
    corpus = Corpus(texts, 0, settings, embedder)
    report, seconds = cpu(lambda: check_new(corpus, settings))
    print(f"dedup of {len(texts):,} prompts ({', '.join(settings.methods)}): {seconds:.2f} CPU-s = "
          f"{seconds / max(1, len(texts)) * 1000:.3f} ms per prompt, {len(report.duplicates):,} duplicates")
    if "semantic" not in settings.methods:
        return
    vectors = corpus.vectors(list(range(len(texts))))
    positions = list(range(len(texts)))
    k = settings.semantic_neighbours + 1
    rows, with_pass = cpu(lambda: semantic.candidate_rows(vectors, positions, settings))

    def every_text_searched():
        neighbours, similarities = semantic.nearest(vectors, positions, k)
        return [sorted((-float(s), int(o)) for o, s in zip(neighbours[p], similarities[p])
                       if 0 <= o < p and s >= settings.semantic_threshold) for p in positions]

    expected, searched_all = cpu(every_text_searched)
    same = all([o for _, o in a] == [o for _, o in b] and np.allclose([s for s, _ in a], [s for s, _ in b], atol=1e-6)
               for a, b in zip(rows, expected))
    flagged = len(semantic.with_earlier_neighbour(vectors, positions, settings.semantic_threshold - semantic.MARGIN))
    print(f"semantic candidates: first pass + search of {flagged:,} texts {with_pass:.2f} CPU-s vs a search of "
          f"every text {searched_all:.2f} CPU-s = {with_pass / max(searched_all, 1e-9):.2f}x; same candidates: {same}")


if __name__ == "__main__":
    main()
