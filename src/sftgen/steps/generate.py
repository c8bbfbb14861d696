"""Prompts from each profile and its chunk, of varied task types, self-contained.
How many a profile gets comes from the subdomain quotas (see quotas.py)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from sftgen.llm.schemas import with_exactly
from sftgen.quotas.ledger import ledger_for, reopen_declined_profiles
from sftgen.quotas.targets import QUOTA_FULL
from sftgen.records import Record
from sftgen.core.step import LLMStep, Outcome, SideDrop, drop, keep
from sftgen.core.context import ItemContext, RunContext
from sftgen.core.page_memo import RecordTexts
from sftgen.steps.prompt_records import PromptText, clean_prompt, rotated, unusable_prompt, without_label
from sftgen.steps.task_types import checked_task_type

log = logging.getLogger("sftgen.generate")

CHUNK_CHARS_IN_PROMPT = 1500


class GeneratedPrompts(BaseModel):
    prompts: list[PromptText] = Field(min_length=1, max_length=8, description="One question or request each.")


class GenerateStep(LLMStep):
    """Write prompts of varied task types from each profile and its chunk."""

    name = "generate"
    consumes = "profile"
    produces = "prompt"
    template = "generate.jinja"
    output_schema = GeneratedPrompts

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        prompts = ctx.recipe.prompts
        return {"per_profile": prompts.per_profile, "attempts": prompts.attempts, "task_types": prompts.task_types,
                "target_total": prompts.target_total, "overshoot": prompts.overshoot,
                "shares": {s.name: s.share for s in ctx.recipe.domain.subdomains},
                "variants": prompts.variants_per_prompt,
                "schema": with_exactly(GeneratedPrompts, "prompts", prompts.per_profile).model_json_schema()}

    def reopen_inputs(self, ctx: RunContext) -> None:
        reopened = reopen_declined_profiles(ctx, self)
        if reopened:
            log.info("generate: %d profiles declined as %s get another turn: their subdomains fell short",
                     reopened, QUOTA_FULL)

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        settings, subdomain = ctx.recipe.prompts, item.meta.get("subdomain")
        held = ledger_for(ctx.run).hold_for_profile(item.id, subdomain, settings.per_profile,
                                                    settings.variants_per_prompt)
        if held == 0:
            return drop(QUOTA_FULL, f"subdomain {subdomain!r} has all the prompts its quota asks for")
        return None

    def task_types(self, item: Record, ctx: ItemContext) -> list[str]:
        return rotated(ctx.recipe.prompts.task_types, item.id, ledger_for(ctx.run).held_count(item.id))

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        return self.variables_for(item, ctx, self.task_types(item, ctx))

    def schema_for(self, item: Record, ctx: ItemContext) -> type[BaseModel]:
        return with_exactly(self.output_schema, "prompts", len(self.task_types(item, ctx)))

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        """One request, and another with a new seed while a reply held no usable prompt (`prompts.attempts`
        in all). The first request is the one a single attempt sends, so its cached reply serves again."""
        settled = self.precheck(item, ctx)
        if settled is not None:
            return settled
        task_types, side_drops = self.task_types(item, ctx), []
        try:
            for attempt in range(ctx.recipe.prompts.attempts):
                reply = await ctx.ask(self.template, self.variables_for(item, ctx, task_types),
                                      self.schema_for(item, ctx), seed=attempt or None)
                outcome = self.prompts_from(item, reply, task_types, ctx.recipe.prompts.task_types, attempt)
                side_drops += outcome.side_drops
                if outcome.outputs:
                    break
        except BaseException:
            self.on_ask_failed(item, ctx)
            raise
        if not outcome.outputs and attempt:
            outcome = drop("no_usable_prompts", f"{attempt + 1} replies, none with a usable prompt "
                                                f"(the last: {outcome.detail})")
        outcome.side_drops = side_drops
        ledger_for(ctx.run).settle_held_profile(item.id, [p.id for p in outcome.outputs],
                                                ctx.recipe.prompts.variants_per_prompt)
        return outcome

    def on_ask_failed(self, item: Record, ctx: ItemContext) -> None:
        ledger_for(ctx.run).release(item.id)

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """The chunks of a page of profiles, read in one query."""
        chunk_texts(ctx).read(ctx, [item.meta.get("chunk_id", "") for item in items])

    def variables_for(self, item: Record, ctx: ItemContext, task_types: list[str]) -> dict[str, Any]:
        chunk = chunk_texts(ctx.run).text(ctx.run, item.meta.get("chunk_id", ""))
        return {"domain": ctx.recipe.domain, "profile": item.meta, "summary": item.text,
                "chunk": chunk[:CHUNK_CHARS_IN_PROMPT] if chunk is not None else "", "task_types": task_types}

    def prompts_from(self, profile: Record, reply: GeneratedPrompts, task_types: list[str],
                     allowed: list[str], attempt: int = 0) -> Outcome:
        """The usable prompts of the reply, each labelled with the task type its text shows (task_types.py),
        not only the one asked at its position."""
        outputs, side_drops, seen = [], [], set()
        for index, (raw, asked) in enumerate(zip(reply.prompts, task_types)):
            text = without_label(clean_prompt(raw), allowed)
            retry = f" (attempt {attempt + 1})" if attempt else ""
            label = f"{profile.id} prompt {index + 1}{retry}: {text[:60]}"
            problem = unusable_prompt(text, seen)
            if problem:
                side_drops.append(SideDrop(label, problem[0], f"prompt {index + 1}: {problem[1]}"))
                continue
            seen.add(text.casefold())
            task_type, decided = checked_task_type(text, asked, allowed)
            meta = seed_meta(profile, task_type)
            if decided == "relabelled":
                meta["task_type_asked"] = asked
            outputs.append(profile.child("prompt", text, meta=meta, origin=f"generate:{index}"))
        if not outputs:
            outcome = drop("no_usable_prompts", f"{len(reply.prompts)} prompts written, none usable")
        else:
            outcome = keep(*outputs)
        outcome.side_drops = side_drops
        return outcome


class ChunkTexts(RecordTexts):
    """The texts of the chunks of generate's pending profiles."""


def chunk_texts(run: RunContext) -> ChunkTexts:
    return run.services.state(ChunkTexts, ChunkTexts)


def seed_meta(profile: Record, task_type: str) -> dict[str, Any]:
    meta = profile.meta
    return {
        "subdomain": meta.get("subdomain"), "topic": meta.get("topic"), "use_case": meta.get("use_case"),
        "task_type": task_type, "difficulty": meta.get("difficulty"), "persona": meta.get("audience"),
        "profile_id": profile.id, "chunk_id": meta.get("chunk_id"), "document_id": meta.get("document_id"),
    }

