"""Search each answer query and fetch its top pages; every page becomes a document with its URL as
provenance, one record per page text: a page that many queries find is stored once, and which query
found it is the step's emit (and the passage's `query_id`). Refused pages are recorded with their reason."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sftgen.fetch.redact import redact_url, redact_urls_in
from sftgen.records import Record, Status, record_id
from sftgen.core.step import Outcome, SideDrop, Step, drop, keep
from sftgen.core.context import ItemContext, RunContext



class AnswerSearchStep(Step):
    """Search each answer query and fetch its top pages."""

    name = "answer_search"
    consumes = "query"
    produces = "document"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        research = ctx.recipe.research
        backend = ctx.recipe.answers.search_backend or research.backend
        return {"backend": backend, "backend_settings": getattr(research, backend).model_dump(),
                "pages_per_query": ctx.recipe.answers.pages_per_query,
                "min_text_chars": research.fetch.min_text_chars}

    def concurrency(self, ctx: RunContext) -> int:
        return ctx.recipe.research.fetch.concurrency

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        from sftgen.search import SearchError  # the search package loads its backends (httpx, bm25s)

        services, answers = ctx.run.services, ctx.recipe.answers
        try:
            backend = services.search(answers.search_backend)
            hits = await backend.search(item.text, answers.pages_per_query, snippets=False)  # pages read, not snippets
        except SearchError as exc:
            return Outcome(Status.ERROR, reason=exc.reason, detail=redact_urls_in(exc.detail))
        if not hits:
            return drop("no_hits", f"the search found nothing for {item.text!r}")
        pages = await services.fetcher().fetch_many([hit.url for hit in hits])
        min_chars = ctx.recipe.research.fetch.min_text_chars
        ids = services.state(PageIds, PageIds)
        documents, side_drops = [], []
        for hit, page in zip(hits, pages):
            if not page.ok:
                side_drops.append(SideDrop(redact_url(hit.url), page.reason or "fetch_failed", page.detail))
            elif len(page.text) < min_chars:
                side_drops.append(SideDrop(redact_url(hit.url), "too_thin",
                                           f"{len(page.text)} characters of text < {min_chars}"))
            else:
                documents.append(page_document(hit, page, ids))
        if not documents:
            outcome = drop("no_pages", "; ".join(f"{d.label}: {d.reason}" for d in side_drops))
        else:
            outcome = keep(*documents)
        outcome.side_drops = side_drops
        return outcome

    def label(self, item: Record) -> str:
        return item.text[:80]


class PageIds:
    """The run's ids and metas of the pages found so far: a page found again is not hashed again (its id
    hashes its whole text), nor are its URL and title redacted again. Bounded: the oldest are forgotten
    first."""

    LIMIT = 4096

    def __init__(self) -> None:
        self.held: OrderedDict[tuple[str, str], str] = OrderedDict()  # popitem(last=False): see TextNumbers
        self.metas: OrderedDict[tuple[str, str, str | None, str], dict[str, Any]] = OrderedDict()

    def of(self, text: str, url: str) -> str:
        key = (url, text)
        found = self.held.get(key)
        if found is None:
            found = self.held[key] = record_id("document", text, [], url)
            if len(self.held) > self.LIMIT:
                self.held.popitem(last=False)
        return found

    def meta(self, url: str, title: str, format: str | None, backend: str) -> dict[str, Any]:
        """A document's meta (a copy of the one held: each record owns its meta)."""
        key = (url, title, format, backend)
        found = self.metas.get(key)
        if found is None:
            found = self.metas[key] = page_meta(url, title, format, backend)
            if len(self.metas) > self.LIMIT:
                self.metas.popitem(last=False)
        return dict(found)


def page_meta(url: str, title: str, format: str | None, backend: str) -> dict[str, Any]:
    """What a page's document records of it: its URL and title redacted, its format and search backend."""
    recorded = redact_url(url)
    return {"source": recorded, "url": recorded, "title": redact_urls_in(title or recorded), "format": format,
            "backend": backend}


def page_document(hit, page, ids: PageIds | None = None) -> Record:
    """The page as a document of its own (no parent): its id depends on its URL and text only, so the
    same page found again is the same record, not a copy."""
    url = page.final_url or hit.url
    title = page.title or hit.title or ""
    if ids is None:
        meta = page_meta(url, title, page.format, hit.backend)
        return Record(kind="document", text=page.text, meta=meta, origin=meta["url"])
    meta = ids.meta(url, title, page.format, hit.backend)
    return Record(kind="document", text=page.text, meta=meta, origin=meta["url"], id=ids.of(page.text, meta["url"]))
