"""Cut the pages found for a prompt into passages and keep the ones most relevant to
the prompt, ranked by BM25 and embeddings fused by reciprocal rank (RRF)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from sftgen.answers.upstream import emitted_from, require_processed
from sftgen.records import Record
from sftgen.core.step import Outcome, Step, drop, keep
from sftgen.core.context import ItemContext, RunContext
from sftgen.steps.answer_queries import AnswerQueriesStep
from sftgen.steps.answer_search import AnswerSearchStep

if TYPE_CHECKING:
    from sftgen.retrieval import PassageCache
    from sftgen.retrieval.bm25 import PassageTerms



RANKED_TOGETHER = 16
"""Prompts in process at once: those waiting for their ranking together are ranked in one thread hop
(retrieval/batched.py)."""


class Candidate(NamedTuple):
    text: str
    page: Record
    start: int
    key: bytes
    """`text_key(text)`: its key in the passage cache."""
    terms: PassageTerms


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

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        store, pipeline = ctx.run.store, ctx.run.pipeline
        queries, search = pipeline.step_of(AnswerQueriesStep).name, pipeline.step_of(AnswerSearchStep).name
        require_processed(store, queries, item)
        pages: list[Record] = []
        found_by: dict[str, str] = {}  # page id -> the first of this prompt's queries that found it
        prompt_queries = emitted_from(store, queries, item.id, "query")
        for query in prompt_queries:
            require_processed(store, search, query)
        found = store.emits.emitted_from_many(search, [query.id for query in prompt_queries], "document")
        for query in prompt_queries:
            for page in found[query.id]:
                pages.append(page)
                found_by.setdefault(page.id, query.id)
        if not pages:
            return drop("no_pages", "the search found no usable page for any of this prompt's queries")
        from sftgen.retrieval import BatchedRanker, PassageCache  # numpy and bm25s load when passages are ranked

        cache = ctx.run.services.state(PassageCache, PassageCache)
        answers = ctx.recipe.answers
        candidates = candidate_passages(pages, answers.passage_size, answers.passage_overlap, cache)
        if not candidates:
            return drop("no_passages", f"{len(pages)} pages held no text to cut into passages")
        ranker = ctx.run.services.state(BatchedRanker, lambda: BatchedRanker(cache, ctx.run.services.embedder()))
        ranked = await ranker.rank(item.text, [c.text for c in candidates], [c.key for c in candidates],
                                   answers.passages_per_answer, [c.terms for c in candidates])
        outputs = []
        for rank, hit in enumerate(ranked, start=1):
            text, page, start = candidates[hit.index][:3]
            outputs.append(passage_record(item, page, text, start, rank, hit, found_by.get(page.id)))
        return keep(*outputs)


def candidate_passages(pages: list[Record], size: int, overlap: int, cache: PassageCache | None = None) -> list[Candidate]:
    """Every passage of every page; a text seen before (the same page found by two queries) is left out.
    `cache` keeps each page text's cuts for the run."""
    from sftgen.retrieval import PassageCache

    cache = cache if cache is not None else PassageCache()
    seen: set[str] = set()
    pages_cut: set[str] = set()
    candidates = []
    for page in pages:
        if page.id in pages_cut:  # found by another query of this prompt: its passages are in already
            continue
        pages_cut.add(page.id)
        for cut in cache.cuts(page.text, size, overlap, page.id):
            if cut.fold and cut.fold not in seen:
                seen.add(cut.fold)
                candidates.append(Candidate(cut.text, page, cut.start, cut.key, cut.terms))
    return candidates


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
