"""Recipe step 6: prompts from each profile and its chunk, of varied task types, self-contained.
How many a profile gets comes from the subdomain quotas (see quotas.py)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import BaseModel, Field

from sftgen.llm.schemas import with_exactly
from sftgen.quotas import QUOTA_FULL, ledger_for, reopen_declined_profiles
from sftgen.records import Record
from sftgen.steps.base import LLMStep, Outcome, SideDrop, drop, keep
from sftgen.steps.context import ItemContext, RunContext
from sftgen.steps.prompt_records import clean_prompt, rotated, unusable_prompt

log = logging.getLogger("sftgen.generate")

CHUNK_CHARS_IN_PROMPT = 1500


PromptText = Annotated[str, Field(min_length=15, max_length=300)]


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
        return {"per_profile": prompts.per_profile, "task_types": prompts.task_types,
                "target_total": prompts.target_total, "overshoot": prompts.overshoot,
                "shares": {s.name: s.share for s in ctx.recipe.domain.subdomains},
                "variants": prompts.variants_per_prompt,
                "schema": with_exactly(GeneratedPrompts, "prompts", prompts.per_profile).model_json_schema()}

    def reopen_inputs(self, ctx: RunContext) -> None:
        reopened = reopen_declined_profiles(ctx, self)
        if reopened:
            log.info("generate: %d profiles declined as %s get another turn: their subdomains fell short",
                     reopened, QUOTA_FULL)

    async def process(self, item: Record, ctx: ItemContext) -> Outcome:
        settings = ctx.recipe.prompts
        ledger = ledger_for(ctx.run, *quota_steps(self))
        subdomain = item.meta.get("subdomain")
        count, reserved = ledger.reserve_for_profile(subdomain, settings.per_profile, settings.variants_per_prompt)
        if count == 0:
            return drop(QUOTA_FULL, f"subdomain {subdomain!r} has all the prompts its quota asks for")
        task_types = rotated(settings.task_types, item.id, count)
        try:
            reply = await ctx.ask(self.template, self.variables_for(item, ctx, task_types),
                                  with_exactly(self.output_schema, "prompts", len(task_types)))
        except BaseException:
            ledger.refund(subdomain, reserved)
            raise
        outcome = self.prompts_from(item, reply, task_types)
        ledger.settle_profile(subdomain, reserved, [p.id for p in outcome.outputs], settings.variants_per_prompt)
        return outcome

    def variables_for(self, item: Record, ctx: ItemContext, task_types: list[str]) -> dict[str, Any]:
        chunk = ctx.run.store.get(item.meta.get("chunk_id", ""))
        return {"domain": ctx.recipe.domain, "profile": item.meta, "summary": item.text,
                "chunk": chunk.text[:CHUNK_CHARS_IN_PROMPT] if chunk else "", "task_types": task_types}

    def prompts_from(self, profile: Record, reply: GeneratedPrompts, task_types: list[str]) -> Outcome:
        outputs, side_drops, seen = [], [], set()
        for index, (raw, task_type) in enumerate(zip(reply.prompts, task_types)):
            text = clean_prompt(raw)
            label = f"{profile.id} prompt {index + 1}: {text[:60]}"
            problem = unusable_prompt(text, seen)
            if problem:
                side_drops.append(SideDrop(label, problem[0], f"prompt {index + 1}: {problem[1]}"))
                continue
            seen.add(text.casefold())
            outputs.append(profile.child("prompt", text, meta=seed_meta(profile, task_type), origin=f"generate:{index}"))
        if not outputs:
            outcome = drop("no_usable_prompts", f"{len(reply.prompts)} prompts written, none usable")
        else:
            outcome = keep(*outputs)
        outcome.side_drops = side_drops
        return outcome


def seed_meta(profile: Record, task_type: str) -> dict[str, Any]:
    meta = profile.meta
    return {
        "subdomain": meta.get("subdomain"), "topic": meta.get("topic"), "use_case": meta.get("use_case"),
        "task_type": task_type, "difficulty": meta.get("difficulty"), "persona": meta.get("audience"),
        "profile_id": profile.id, "chunk_id": meta.get("chunk_id"), "document_id": meta.get("document_id"),
    }


def quota_steps(step: LLMStep) -> tuple[LLMStep, LLMStep]:
    """The generate and broaden steps as the standard pipeline wires them: the ledger needs to know
    which of their inputs are about to be (re)done."""
    from sftgen.steps.broaden import BroadenStep

    if isinstance(step, GenerateStep):
        return step, BroadenStep(upstream=["generate"])
    return GenerateStep(upstream=["profile"]), step
