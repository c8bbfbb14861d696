"""CPU per item of the answer half's own work (issue 17), without the LLM and the store's writes: the local
BM25 search of each answer query (hits and snippets), the passages of each prompt cut from its pages and
ranked (BM25 + embeddings, RANKED_TOGETHER prompts together as the step batches them), and the checks of
each written answer (citations, own words, copy check), over a project a `bench/pipeline_scale.py --keep
DIR` run left.

The inputs are read from the project's store first (not timed); each part then runs `--repeat` times over
all its items and the best round's CPU time per item is printed (a busy machine slows some rounds).

    PYTHONPATH=src .venv/bin/python bench/answer_half_cpu.py DIR/project-2000 [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sftgen.answers.answer_text import answer_problem
from sftgen.embed.embedder import load_embedder
from sftgen.recipe import load_recipe
from sftgen.retrieval import BatchedRanker, PassageCache
from sftgen.retrieval.batched import RankingJob
from sftgen.search.local_bm25 import LocalBM25Backend
from sftgen.steps.answer import grounded_answer, passage_title
from sftgen.steps.answer_retrieve import RANKED_TOGETHER, candidate_passages
from sftgen.store.store import Store


def best_per_item(label: str, count: int, repeat: int, work: Callable[[], Any]) -> Any:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
    print(f"  {label:<34} {best / max(count, 1) * 1000:7.3f} ms CPU per item ({count:,} items)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    recipe = load_recipe(args.project / "recipe.yaml")
    answers_settings = recipe.answers
    store = Store(args.project / ".sftgen" / "store.db")
    queries = list(store.records_of_kind("query"))
    prompts = [store.get(prompt_id) for prompt_id in dict.fromkeys(q.parent_ids[0] for q in queries)]
    pages_of = {prompt.id: [page for query in store.emits.emitted_from("answer_queries", prompt.id, "query")
                            for page in store.emits.emitted_from("answer_search", query.id, "document")]
                for prompt in prompts}
    answers = []
    for answer in store.records_of_kind("answer"):
        passages = [store.get(passage_id) for passage_id in answer.meta.get("passage_ids", [])]
        answers.append((store.get(answer.meta["prompt_id"]), answer.text, [p for p in passages if p is not None]))
    print(f"answer half of {args.project}: {len(queries):,} queries, {len(prompts):,} prompts, {len(answers):,} answers")

    backend = LocalBM25Backend(recipe.research.local.path(args.project), args.project)
    backend.build_index()
    k = answers_settings.pages_per_query
    best_per_item("search (BM25 hits, snippets)", len(queries), args.repeat,
                  lambda: [backend.search_now(query.text, k) for query in queries])

    cache = PassageCache()
    ranker = BatchedRanker(cache, load_embedder())

    def retrieve() -> list:
        ranked, batch = [], []
        for prompt in prompts:
            candidates = candidate_passages(pages_of[prompt.id], answers_settings.passage_size,
                                            answers_settings.passage_overlap, cache)
            if candidates:
                batch.append(RankingJob(prompt.text, [], [], answers_settings.passages_per_answer, candidates=candidates))
            if len(batch) == RANKED_TOGETHER:
                ranked.extend(ranker.rank_all(batch))
                batch = []
        return ranked + ranker.rank_all(batch)

    best_per_item("retrieve (cut, rank)", len(prompts), args.repeat, retrieve)

    def check() -> list:
        outcomes = []
        for prompt, text, passages in answers:
            answer = grounded_answer(prompt, text, passages)
            outcomes.append(answer_problem(answer.text, [passage_title(p) for p in passages], [p.text for p in passages]))
        return outcomes

    best_per_item("answer checks (citations, copy)", len(answers), args.repeat, check)


if __name__ == "__main__":
    main()
