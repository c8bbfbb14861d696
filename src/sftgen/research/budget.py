"""What the fresh-documents loop may still spend in this run (`ResearchBudget`, made once per run): the
recipe's query and page budgets, minus what research records in the store already spent (every research
query record lists its hits and the URLs it fetched), the URLs already fetched and which profile claimed
each, and a near-duplicate index of the documents the pipeline consumes (research/plan.py says how many
pages each subdomain still needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sftgen.research.near_duplicates import (
    SIGNATURE_KEY, NearDuplicateIndex, decode_signature, encode_signature, minhash_of,
)
from sftgen.core.context import RunContext



@dataclass
class ResearchBudget:
    queries_left: int
    pages_left: int
    known_queries: set[str] = field(default_factory=set)
    """Ids of research query records already in the store: asking them again costs nothing."""
    profiles_researched: set[str] = field(default_factory=set)
    query_texts: dict[str, str] = field(default_factory=dict)
    """Normalised query text -> the id of the first query record that asked it (any profile)."""
    url_owner: dict[str, str] = field(default_factory=dict)
    """URL -> the profile whose research fetched it first (a profile redone may fetch its own again)."""
    near_duplicates: NearDuplicateIndex | None = None

    def may_research(self, profile_id: str) -> bool:
        """A new profile needs query budget; one researched before may redo its own queries."""
        return self.queries_left > 0 or profile_id in self.profiles_researched

    def repeats(self, text: str, query_id: str) -> bool:
        """True when another profile's query asked the same (its hits are fetched already)."""
        first = self.query_texts.get(normalised(text))
        return first is not None and first != query_id

    def take_query(self, query_id: str, profile_id: str, text: str) -> bool:
        if query_id in self.known_queries:
            return True
        if self.queries_left <= 0:
            return False
        self.queries_left -= 1
        self.known_queries.add(query_id)
        self.query_texts.setdefault(normalised(text), query_id)
        self.profiles_researched.add(profile_id)
        return True

    def claim_url(self, url: str, profile_id: str) -> str | None:
        """None when this profile may fetch the URL (charging a page); else the reason it may not."""
        owner = self.url_owner.get(url)
        if owner is not None:
            return None if owner == profile_id else "seen_url"
        if self.pages_left <= 0:
            return "page_budget_spent"
        self.pages_left -= 1
        self.url_owner[url] = profile_id
        return None


def research_budget(ctx: RunContext) -> ResearchBudget:
    """The run's budget, made on first use from the store."""
    return ctx.services.state(ResearchBudget, lambda: new_budget(ctx))


def new_budget(ctx: RunContext) -> ResearchBudget:
    settings = ctx.recipe.research
    known_queries: set[str] = set()
    profiles_researched: set[str] = set()
    query_texts: dict[str, str] = {}
    url_owner: dict[str, str] = {}
    for query in ctx.store.records_of_kind("query"):
        if query.meta.get("purpose") != "research":
            continue
        known_queries.add(query.id)
        profiles_researched.add(query.meta.get("profile_id", ""))
        query_texts.setdefault(normalised(query.text), query.id)
        for fetched in query.meta.get("fetched", []):
            url_owner.setdefault(fetched["url"], query.meta.get("profile_id", ""))
    pages_used = len(url_owner)
    index = NearDuplicateIndex(settings.near_duplicate_threshold)
    for document_id, meta in document_metas(ctx):
        index.add(document_id, signature=stored_signature(ctx, document_id, meta))
        if meta.get("url"):
            url_owner.setdefault(meta["url"], meta.get("profile_id", document_id))
    return ResearchBudget(
        queries_left=max(0, settings.max_queries - len(known_queries)),
        pages_left=max(0, settings.max_pages - pages_used),
        known_queries=known_queries,
        profiles_researched=profiles_researched,
        query_texts=query_texts,
        url_owner=url_owner,
        near_duplicates=index,
    )


def document_metas(ctx: RunContext) -> list[tuple[str, dict]]:
    """(id, meta) of every active document the pipeline consumes (what chunking reads: the source files,
    URL lists and research pages, not the answer half's pages), without loading their texts."""
    return ctx.store.emits.metas(ctx.pipeline.consumed_from("document"), "document")


def stored_signature(ctx: RunContext, document_id: str, meta: dict):
    """The document's near-duplicate signature from its meta; made once (from a bounded part of its
    text) and stored when it has none yet."""
    signature = decode_signature(meta.get(SIGNATURE_KEY))
    if signature is None:
        document = ctx.store.get(document_id)
        signature = minhash_of(document.text if document is not None else "")
        if document is not None:
            ctx.store.set_meta(document_id, {SIGNATURE_KEY: encode_signature(signature)})
    return signature


def normalised(text: str) -> str:
    return " ".join(text.lower().split())
