"""Breadth (in-breadth evolution): variants of each generated prompt on a neighbouring
topic or use case of the same profile, for another persona and difficulty. Variants are new prompts
(`variant_of` the original); the original goes on from `generate` itself."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sftgen.llm.schemas import with_exactly
from sftgen.quotas.ledger import ledger_for
from sftgen.quotas.targets import QUOTA_FULL
from sftgen.records import Record
from sftgen.core.step import LLMStep, Outcome, SideDrop, drop, keep
from sftgen.core.context import ItemContext, RunContext
from sftgen.core.page_memo import RecordTexts
from sftgen.steps.prompt_records import PromptText, clean_prompt, inherited_meta, reworded_parent, rotated, unusable_prompt


class PromptVariants(BaseModel):
    variants: list[PromptText] = Field(min_length=1, max_length=4, description="One new question each.")


class BroadenStep(LLMStep):
    """Vary each prompt across topic, use case, persona and difficulty."""

    name = "broaden"
    consumes = "prompt"
    produces = "prompt"
    template = "broaden.jinja"
    output_schema = PromptVariants

    def step_settings(self, ctx: RunContext) -> dict[str, Any]:
        prompts = ctx.recipe.prompts
        return {"variants": prompts.variants_per_prompt, "personas": prompts.personas,
                "difficulties": prompts.difficulties,
                "schema": with_exactly(PromptVariants, "variants",
                                       max(1, prompts.variants_per_prompt)).model_json_schema()}

    def precheck(self, item: Record, ctx: ItemContext) -> Outcome | None:
        settings, subdomain = ctx.recipe.prompts, item.meta.get("subdomain")
        if settings.variants_per_prompt == 0:
            return keep()
        if ledger_for(ctx.run).hold_for_seed(item.id, subdomain, settings.variants_per_prompt) == 0:
            return drop(QUOTA_FULL, f"subdomain {subdomain!r} has all the prompts its quota asks for")
        return None

    def targets(self, item: Record, ctx: ItemContext) -> list[dict[str, str]]:
        """The persona and difficulty of each variant asked for this seed. Worked out once per seed (its
        variables, its schema and its reply need them) and kept in `ctx.found` with the count held for it."""
        count = ledger_for(ctx.run).held_count(item.id)
        held = ctx.found.get("targets")
        if held is not None and held[0] == count:
            return held[1]
        settings = ctx.recipe.prompts
        targets = [{"persona": persona, "difficulty": difficulty}
                   for persona, difficulty in zip(rotated(settings.personas, item.id, count),
                                                  rotated(settings.difficulties, item.id + ":d", count))]
        ctx.found["targets"] = (count, targets)
        return targets

    def variables(self, item: Record, ctx: ItemContext) -> dict[str, Any]:
        return self.variables_for(item, ctx, self.targets(item, ctx))

    def schema_for(self, item: Record, ctx: ItemContext) -> type[BaseModel]:
        return with_exactly(self.output_schema, "variants", len(self.targets(item, ctx)))

    def on_reply(self, item: Record, reply: PromptVariants, ctx: ItemContext) -> Outcome:
        outcome = self.variants_from(item, reply, self.targets(item, ctx))
        ledger_for(ctx.run).settle_held_seed(item.id, len(outcome.outputs))
        return outcome

    def on_ask_failed(self, item: Record, ctx: ItemContext) -> None:
        ledger_for(ctx.run).release(item.id)

    def prepare_inputs(self, items: list[Record], ctx: RunContext) -> None:
        """The profiles of a page of seeds (a profile's seeds come together), read in one query."""
        profile_texts(ctx).read(ctx, [item.meta.get("profile_id", "") for item in items])

    def variables_for(self, item: Record, ctx: ItemContext, targets: list[dict[str, str]]) -> dict[str, Any]:
        summary = profile_texts(ctx.run).text(ctx.run, item.meta.get("profile_id", ""))
        return {"domain": ctx.recipe.domain, "prompt": item.text, "meta": item.meta,
                "profile_summary": summary if summary is not None else "", "targets": targets}

    def variants_from(self, seed: Record, reply: PromptVariants, targets: list[dict[str, str]]) -> Outcome:
        outputs, side_drops = [], []
        seen = {seed.text.casefold()}
        for index, (raw, target) in enumerate(zip(reply.variants, targets)):
            text = clean_prompt(raw)
            label = f"{seed.id} variant {index + 1}: {text[:60]}"
            problem = unusable_prompt(text, seen) or reworded_parent(seed.text, text)
            if problem:
                side_drops.append(SideDrop(label, problem[0], f"variant {index + 1}: {problem[1]}"))
                continue
            seen.add(text.casefold())
            meta = inherited_meta(seed, persona=target["persona"], difficulty=target["difficulty"],
                                  variant_of=seed.id)
            outputs.append(seed.child("prompt", text, meta=meta, origin=f"broaden:{index}"))
        outcome = keep(*outputs) if outputs else drop("no_usable_variants", f"{len(reply.variants)} written, none usable")
        outcome.side_drops = side_drops
        return outcome


class ProfileTexts(RecordTexts):
    """The summaries (texts) of the profiles of broaden's pending seeds."""


def profile_texts(run: RunContext) -> ProfileTexts:
    return run.services.state(ProfileTexts, ProfileTexts)
