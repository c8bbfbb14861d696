"""Keep chunks that are relevant to the recipe's domain and informative; drop the rest
with a stable reason code and the model's short explanation.

Every chunk gets an embedding relevance score (meta `relevance`, `relevance/`). With a band in the recipe
(`relevance.keep_at`, `drop_below`, fitted by `sftgen calibrate`), the score decides the clear cases without
a request and the LLM judges only the chunks in between."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sftgen.llm.schemas import Sentence
from sftgen.records import Record
from sftgen.relevance.gate import RelevanceGate, examples_fingerprint
from sftgen.steps.prepared_encoder import PreparedEncoder
from sftgen.core.step import LLMFilterStep, Outcome, drop, keep
from sftgen.core.context import ItemContext, RunContext

CHUNK_DROP_REASONS = ("off_domain", "boilerplate", "too_thin", "garbled")


class ChunkVerdict(BaseModel):
    verdict: Literal["keep", "off_domain", "boilerplate", "too_thin", "garbled"] = Field(
        description="keep, or why the text is of no use for questions about the domain."
    )
    explanation: Sentence = Field(description="One short sentence.")


class ChunkVerdictReasonFirst(BaseModel):
    """`filters.reason_first`: the reason is written before the verdict, so the verdict follows from it."""

    explanation: Sentence = Field(description="One short sentence.")
    verdict: Literal["keep", "off_domain", "boilerplate", "too_thin", "garbled"] = Field(
        description="keep, or why the text is of no use for questions about the domain."
    )


class ChunkFilterStep(LLMFilterStep):
    """Keep chunks relevant to the domain and informative enough to ask about."""

    name = "chunk_filter"
    consumes = "chunk"
    produces = "chunk"
    template = "chunk_filter.jinja"
    output_schema = ChunkVerdict
    reason_first_template = "chunk_filter_reason_first.jinja"
    reason_first_schema = ChunkVerdictReasonFirst

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        relevance = ctx.recipe.relevance
        return {"min_chunk_chars": ctx.recipe.profiles.min_chunk_chars, "domain": domain_brief(ctx),
                "relevance": [relevance.keep_at, relevance.drop_below,
                              examples_fingerprint(ctx.recipe, ctx.project_dir),
                              # listed only when set, so the hash of a recipe without them stays as it was
                              *([relevance.fit] if relevance.fit != "centroids" else []),
                              *([relevance.embedder] if relevance.embedder != "static" else [])]}

    def uses_embedder(self, ctx: RunContext) -> bool:
        return ctx.recipe.relevance.embedder == "static"  # every reply's relevance score

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        minimum = ctx.recipe.profiles.min_chunk_chars
        if len(item.text.strip()) < minimum:
            return drop("too_thin", f"{len(item.text.strip())} characters, fewer than profiles.min_chunk_chars={minimum}")
        relevance = ctx.recipe.relevance
        if not relevance.active:  # the LLM judges every chunk; on_reply records the score
            return None
        score = relevance_gate(ctx.run).score(item.text)
        decided = relevance.decide(score)
        if decided is None:
            return None
        if decided:
            outcome = keep()
            outcome.reason = "relevant"
            outcome.detail = f"relevance score {score:.3f} at or above relevance.keep_at={relevance.keep_at}"
        else:
            outcome = drop("off_domain", f"relevance score {score:.3f} below relevance.drop_below={relevance.drop_below}")
        outcome.meta_updates = {"relevance": score}
        return outcome

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """The chunks a score is made for (all but the too short), encoded in one call."""
        encoder = relevance_encoder(ctx)
        if isinstance(encoder, PreparedEncoder):
            minimum = ctx.recipe.profiles.min_chunk_chars
            encoder.prepare([item.text for item in items if len(item.text.strip()) >= minimum])

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        return {"domain": ctx.recipe.domain, "chunk": item.text, "title": item.meta.get("title") or ""}

    def on_reply(self, item: Record, reply: ChunkVerdict, ctx: ItemContext) -> Outcome:
        outcome = keep() if reply.verdict == "keep" else drop(reply.verdict, reply.explanation)
        outcome.meta_updates = {"relevance": relevance_gate(ctx.run).score(item.text)}
        return outcome


def relevance_gate(run: RunContext) -> RelevanceGate:
    """One gate per run (its scorer embeds the anchors or the labelled sample once)."""
    return run.services.state(RelevanceGate, lambda: RelevanceGate(run.recipe, run.project_dir, relevance_encoder(run)))


def relevance_encoder(run: RunContext):
    """MiniLM (`relevance.embedder: minilm`: padded batches, so one text at a time), else the run's static
    embedder, whose rows can be made a page at a time (steps/prepared_encoder.py)."""
    if run.recipe.relevance.embedder == "minilm":
        from sftgen.embed.minilm import MiniLMEncoder

        return run.services.state(MiniLMEncoder, MiniLMEncoder)
    return run.services.state(PreparedEncoder, lambda: PreparedEncoder(run.services.embedder()))


def domain_brief(ctx: RunContext) -> dict[str, Any]:
    """The part of the recipe the relevance judgement depends on."""
    domain = ctx.recipe.domain
    return {"name": domain.name, "description": domain.description,
            "subdomains": [(s.name, s.description) for s in domain.subdomains]}
