"""The fresh-documents loop: for profiles of subdomains under their quota, the LLM writes
search queries; the hits are fetched, cleaned and emitted as new documents, which `chunk` consumes, so
they are filtered and profiled like the source texts on the executor's next pass. It stops when the
pages fetched can meet the quotas or the recipe's query and page budgets are spent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sftgen.fetch.redact import redact_url, redact_urls_in
from sftgen.llm.schemas import with_exactly
from sftgen.records import Record
from sftgen.research.budget import research_budget
from sftgen.research.plan import QuotaPlan, quota_plan
from sftgen.research.pages import admit, page_document
from sftgen.core.step import Outcome, SideDrop, Step, drop, keep
from sftgen.core.context import ItemContext, RunContext

if TYPE_CHECKING:  # search backends and the fetcher (httpx, bm25s) load when research runs
    from sftgen.fetch import Fetcher
    from sftgen.search import SearchBackend, SearchHit

class ResearchQueries(BaseModel):
    queries: list[str] = Field(min_length=1, max_length=8, description="Short web search queries.")


class ResearchStep(Step):
    """Search and fetch fresh documents for subdomains under their quota."""

    name = "research"
    consumes = "profile"
    produces = "document"
    uses_llm = True
    runs_on_driver = True
    template = "research_queries.jinja"
    output_schema = ResearchQueries

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        research = ctx.recipe.research
        return {
            "template": ctx.templates.fingerprint(self.template),
            "schema": self.schema(ctx).model_json_schema(),
            "model": ctx.llm_identity,
            "research": research.model_dump(exclude={"url_lists"}),
        }

    def schema(self, ctx: RunContext | ItemContext):
        return with_exactly(self.output_schema, "queries", ctx.recipe.research.queries_per_profile)

    def concurrency(self, ctx: RunContext) -> int:
        return min(ctx.llm_concurrency, ctx.recipe.research.fetch.concurrency)

    def label(self, item: Record) -> str:
        return f"{item.meta.get('subdomain')}: {item.meta.get('topic') or item.text[:60]}"

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        run, research = ctx.run, ctx.recipe.research
        subdomain = item.meta.get("subdomain")
        plan = quota_plan(run, researcher=self.name)
        earlier = run.store.emits.emitted_from(self.name, item.id)  # what it found for this profile before
        if plan.wanted(subdomain) == 0:
            # A profile redone under new settings keeps the pages it found before: dropping them would
            # withdraw the prompts made from them and reopen the quota they filled.
            return keep(*earlier) if earlier else drop(
                "quota_met", f"subdomain {subdomain!r}: the quota is met, or pages on their way can meet it")
        budget = research_budget(run)
        if not budget.may_research(item.id):
            return keep(*earlier) if earlier else drop(
                "research_budget_spent", f"research.max_queries ({research.max_queries}) spent")
        queries = await self.write_queries(item, ctx)
        backend, fetcher = run.services.search(), run.services.fetcher()
        documents: list[Record] = []
        side_drops: list[SideDrop] = []
        claimed_here: set[str] = set()
        searched = 0
        for text in queries:
            wanted = plan.wanted(subdomain)
            if wanted is not None and wanted <= 0:
                break
            query = query_record(item, text)
            if budget.repeats(text, query.id):
                side_drops.append(SideDrop(f"query: {text}", "repeated_query",
                                           f"{text!r} was searched for another profile already"))
                continue
            if not budget.take_query(query.id, item.id, text):
                side_drops.append(SideDrop(f"query: {text}", "research_budget_spent",
                                           f"research.max_queries ({research.max_queries}) spent"))
                break
            hits = await self.hits_for(query, backend, run, side_drops)
            if hits is None:
                continue
            searched += 1
            made = await self.fetch_hits(item, query, hits, fetcher, run, side_drops, plan, claimed_here)
            documents.extend(made)
        new_ids = {document.id for document in documents}
        documents += [document for document in earlier if document.id not in new_ids]
        if documents:
            outcome = keep(*documents)
            outcome.side_drops = side_drops
            return outcome
        if plan.wanted(subdomain) == 0:
            return drop("quota_met", f"subdomain {subdomain!r}: pages fetched for other profiles can meet the quota")
        reasons = sorted({d.reason for d in side_drops}) or ["no_hits"]
        outcome = drop("no_new_pages", f"{searched} queries searched; pages dropped as: {', '.join(reasons)}")
        outcome.side_drops = side_drops
        return outcome

    async def write_queries(self, item: Record, ctx: ItemContext) -> list[str]:
        research = ctx.recipe.research
        subdomain = next((s for s in ctx.recipe.domain.subdomains if s.name == item.meta.get("subdomain")), None)
        variables = {
            "domain": ctx.recipe.domain,
            "subdomain": subdomain or {"name": item.meta.get("subdomain") or ctx.recipe.domain.name, "description": ""},
            "topic": item.meta.get("topic") or "",
            "use_case": item.meta.get("use_case") or "",
            "summary": item.text,
            "count": research.queries_per_profile,
        }
        reply = await ctx.ask(self.template, variables, self.schema(ctx))
        cleaned: list[str] = []
        for query in reply.queries:
            query = " ".join(query.split())[:200]
            if query and query.lower() not in {q.lower() for q in cleaned}:
                cleaned.append(query)
        return cleaned[: research.queries_per_profile]

    async def hits_for(self, query: Record, backend: SearchBackend, run: RunContext,
                       side_drops: list[SideDrop]) -> list[dict] | None:
        """The query's hits: remembered on its record from an earlier run, or searched now. The record
        keeps redacted URLs; a hit searched now also carries the URL as found (`fetch_url`) for this run."""
        from sftgen.search import SearchError

        stored = run.store.get(query.id)
        if stored is not None and "hits" in stored.meta:
            query.meta["hits"] = stored.meta["hits"]
            return query.meta["hits"]
        try:
            found: list[SearchHit] = await backend.search(query.text, run.recipe.research.results_per_query)
        except SearchError as exc:
            side_drops.append(SideDrop(f"query: {query.text}", f"search_{exc.reason}", redact_urls_in(exc.detail)))
            return None
        query.meta["hits"] = [{"url": redact_url(h.url), "title": redact_urls_in(h.title or ""),
                               "snippet": h.snippet, "rank": h.rank, "backend": h.backend} for h in found]
        return [{**hit, "fetch_url": h.url} for hit, h in zip(query.meta["hits"], found)]

    async def fetch_hits(self, profile: Record, query: Record, hits: list[dict], fetcher: Fetcher,
                         run: RunContext, side_drops: list[SideDrop], plan: QuotaPlan,
                         claimed_here: set[str]) -> list[Record]:
        """Fetch the hits this profile may claim; pages that pass become documents made from the query."""
        budget = research_budget(run)
        subdomain = profile.meta.get("subdomain")
        claimed = []
        wanted = plan.wanted(subdomain)
        for hit in hits:
            if hit["url"] in claimed_here or (wanted is not None and len(claimed) >= wanted):
                continue
            refusal = budget.claim_url(hit["url"], profile.id)
            if refusal is None:
                claimed.append(hit)
                claimed_here.add(hit["url"])
            else:
                side_drops.append(SideDrop(hit["url"], refusal, f"{hit['url']}: {refusal.replace('_', ' ')}"))
        pages = await fetcher.fetch_many([hit.get("fetch_url", hit["url"]) for hit in claimed])
        documents, fetched = [], []
        for hit, page in zip(claimed, pages):
            fetched.append({"url": hit["url"], "ok": page.ok, "reason": page.reason})
            meta = {"query_id": query.id, "query": query.text, "profile_id": profile.id, "subdomain": subdomain,
                    "search_backend": hit.get("backend"), "search_rank": hit.get("rank")}
            document = page_document(page, query, meta)
            problem = admit(document, page, budget.near_duplicates, run.recipe.research.fetch.min_text_chars)
            if problem is not None:
                side_drops.append(problem)
                continue
            documents.append(document)
            plan.charge(subdomain)
        query.meta["fetched"] = fetched
        query.step = self.name
        run.store.put_records([query])  # written at once: the budget counts it even if the run stops here
        return documents


def query_record(profile: Record, text: str) -> Record:
    meta = {"purpose": "research", "subdomain": profile.meta.get("subdomain"), "profile_id": profile.id,
            "topic": profile.meta.get("topic")}
    return profile.child("query", text, meta=meta, origin="research")

