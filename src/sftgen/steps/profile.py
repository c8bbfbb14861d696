"""A structured profile of each kept chunk (subdomain, topic, use case, audience,
difficulty), its subdomain normalised to one of the recipe's names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sftgen.records import Record
from sftgen.core.step import LLMStep, Outcome, drop, keep
from sftgen.steps.chunk_filter import domain_brief
from sftgen.core.context import ItemContext, RunContext
from sftgen.steps.prompt_records import rotated
from sftgen.steps.subdomains import CONTENT_CHARS, matcher_for


class ChunkProfile(BaseModel):
    subdomain: str = Field(max_length=80, description="One of the listed subdomains, or none.")
    topic: str = Field(max_length=100, description="The specific topic of the passage, a few words.")
    use_case: str = Field(max_length=150, description="Why someone would ask about it.")
    audience: str = Field(max_length=60)
    difficulty: str = Field(max_length=30, description="beginner, intermediate or advanced")
    summary: str = Field(min_length=10, max_length=250, description="One sentence: what the passage says.")


class ProfileStep(LLMStep):
    """Profile each kept chunk: subdomain, topic, use case, audience, difficulty."""

    name = "profile"
    consumes = "chunk"
    produces = "profile"
    template = "profile.jinja"
    output_schema = ChunkProfile

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        profiles = ctx.recipe.profiles
        return {"domain": domain_brief(ctx), "min_similarity": profiles.subdomain_min_similarity,
                "unmatched": profiles.unmatched_subdomain, "margin": profiles.subdomain_margin,
                "content_check": 1}

    def uses_embedder(self, ctx: RunContext) -> bool:
        return True  # the subdomain match of every reply

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        # Listed from a different start for each chunk: small models tend to pick the first option.
        subdomains = ctx.recipe.domain.subdomains
        order = rotated([str(i) for i in range(len(subdomains))], item.id, len(subdomains))
        return {"domain": ctx.recipe.domain, "subdomains": [subdomains[int(i)] for i in order],
                "chunk": item.text, "title": item.meta.get("title") or ""}

    def on_reply(self, item: Record, reply: ChunkProfile, ctx: ItemContext) -> Outcome:
        content = f"{reply.topic}. {reply.summary}\n{item.text[:CONTENT_CHARS]}"
        match = matcher_for(ctx.run).match(reply.subdomain, reply.topic, content)
        if match.method == "none_chosen":
            return drop("off_subdomain", "the model found the passage fits none of the subdomains")
        if match.name is None:
            return drop("off_subdomain", f"subdomain {reply.subdomain!r} is closest to {match.nearest!r} "
                                         f"(similarity {match.similarity:.2f}), below "
                                         f"profiles.subdomain_min_similarity")
        meta = {
            "domain": ctx.recipe.domain.name,
            "subdomain": match.name,
            "subdomain_raw": reply.subdomain,
            "subdomain_match": match.method,
            "subdomain_similarity": round(match.similarity, 3),
            "topic": reply.topic.strip(),
            "use_case": reply.use_case.strip(),
            "audience": reply.audience.strip(),
            "difficulty": reply.difficulty.strip(),
            "chunk_id": item.id,
            "document_id": item.meta.get("document_id"),
            "source": item.meta.get("source"),
        }
        return keep(item.child("profile", reply.summary.strip(), meta=meta))
