"""Cut the pages found for a prompt into passages and keep the ones most relevant to
the prompt, ranked by BM25 and embeddings fused by reciprocal rank (RRF)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sftgen.answers.found_pages import PagesOfPrompts
from sftgen.records import Record
from sftgen.core.step import Outcome, Step, drop, keep
from sftgen.core.context import ItemContext, RunContext
from sftgen.steps.answer_queries import AnswerQueriesStep
from sftgen.steps.answer_search import AnswerSearchStep

if TYPE_CHECKING:
    from sftgen.retrieval import CandidateSet, PassageCache



RANKED_TOGETHER = 64
"""Prompts in process at once: those waiting for their ranking together are ranked in one thread hop
(retrieval/batched.py)."""


class AnswerRetrieveStep(Step):
    """Retrieve the passages most relevant to each prompt from its fetched pages."""

    name = "answer_retrieve"
    consumes = "prompt"
    produces = "passage"

    def concurrency(self, ctx: RunContext) -> int:
        return RANKED_TOGETHER

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        answers = ctx.recipe.answers
        return {"passages": answers.passages_per_answer, "size": answers.passage_size,
                "overlap": answers.passage_overlap, "ranking": "bm25+embeddings rrf"}

    def uses_embedder(self, ctx: RunContext) -> bool:
        return True  # the embeddings half of the ranking

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        from sftgen.retrieval import BatchedRanker, PassageCache  # numpy and bm25s load when passages are ranked

        store, pipeline, services = ctx.run.store, ctx.run.pipeline, ctx.run.services
        queries, search = pipeline.step_of(AnswerQueriesStep).name, pipeline.step_of(AnswerSearchStep).name
        reads = services.state(PagesOfPrompts, lambda: PagesOfPrompts(store, queries, search))
        read = await reads.pages(item)
        pages: list[Record] = []
        found_by: dict[str, str] = {}  # page id -> the first of this prompt's queries that found it
        for query_id in read.query_ids:
            for page in read.found[query_id]:
                pages.append(page)
                found_by.setdefault(page.id, query_id)
        if not pages:
            return drop("no_pages", "the search found no usable page for any of this prompt's queries")
        cache = services.state(PassageCache, PassageCache)
        answers = ctx.recipe.answers
        candidates = candidate_passages(pages, answers.passage_size, answers.passage_overlap, cache)
        if not candidates:
            return drop("no_passages", f"{len(pages)} pages held no text to cut into passages")
        ranker = services.state(BatchedRanker, lambda: BatchedRanker(cache, services.embedder()))
        ranked = await ranker.rank_candidates(item.text, candidates, answers.passages_per_answer)
        outputs = []
        for rank, hit in enumerate(ranked, start=1):
            text, page, start = candidates[hit.index][:3]
            outputs.append(passage_record(item, page, text, start, rank, hit, found_by.get(page.id)))
        return keep(*outputs)


def candidate_passages(pages: list[Record], size: int, overlap: int, cache: PassageCache | None = None) -> CandidateSet:
    """Every passage of every page; a text seen before (the same page found by two queries) is left out.
    `cache` keeps each page text's cuts for the run."""
    from sftgen.retrieval import candidate_set

    return candidate_set(pages, size, overlap, cache)


def passage_record(prompt: Record, page: Record, text: str, start: int, rank: int, hit, query_id: str | None) -> Record:
    meta = {
        "url": page.meta.get("url") or page.meta.get("source"),
        "title": page.meta.get("title"),
        "document_id": page.id,
        "prompt_id": prompt.id,
        "query_id": query_id or page.meta.get("query_id"),  # a page stored before pages were shared names it
        "score": round(hit.score, 6),
        "rank": rank,
        "bm25_rank": hit.bm25_rank,
        "embedding_rank": hit.embedding_rank,
        "start": start,
    }
    return Record(kind="passage", text=text, parent_ids=[prompt.id, page.id], meta=meta, origin=f"{start}")
