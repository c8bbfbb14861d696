"""What the steps that make prompts may still make per subdomain in this run (`QuotaLedger`), and the
second turn of profiles declined as `quota_full` when later steps dropped too many of a subdomain's prompts.

The ledger starts from the prompts alive in the store (made and not dropped since), leaving out those about
to be redone, and is charged as prompts are made, so full subdomains stop and under-filled ones get more
per profile. The pipeline says which steps make prompts (`Pipeline.makers("prompt")`: generate, which makes
them from profiles, and broaden, which makes variants of them).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from sftgen.core.context import RunContext
from sftgen.core.step import Step
from sftgen.quotas.status import alive_prompts_by_subdomain
from sftgen.quotas.targets import QUOTA_FULL, planned_counts, subdomain_targets
from sftgen.records import Record, Status

@dataclass
class Hold:
    """Room taken for one input before the LLM is asked, until the step settles or releases it."""

    subdomain: str
    count: int
    """Prompts asked for: seeds of a profile, variants of a seed."""
    reserved: int
    """Room charged to the subdomain for them (a profile's seeds with their variants)."""


@dataclass
class QuotaLedger:
    planned: dict[str, int] | None
    """None: no quotas, every profile gets `per_profile`."""
    used: Counter = field(default_factory=Counter)
    profiles_left: Counter = field(default_factory=Counter)
    """Profiles of each subdomain `generate` has still to serve in this run."""
    variant_allowance: dict[str, int] = field(default_factory=dict)
    """Seed prompt id -> variants `broaden` may make of it, reserved when `generate` made the seed."""
    held: dict[str, Hold] = field(default_factory=dict)
    """Input id -> the room held for it while its LLM request is out."""

    def free(self, subdomain: str) -> int | None:
        if self.planned is None:
            return None
        return max(0, self.planned.get(subdomain, 0) - self.used[subdomain])

    def reserve_for_profile(self, subdomain: str, per_profile: int, variants: int) -> tuple[int, int]:
        """(seeds, reserved): how many prompts `generate` asks of one profile, and the room charged for them
        and their `broaden` variants. The subdomain's free room is spread over its profiles still to come."""
        left = max(1, self.profiles_left[subdomain])
        self.profiles_left[subdomain] = left - 1
        free = self.free(subdomain)
        if free is None:
            return per_profile, per_profile * (1 + variants)
        seeds = min(per_profile, math.ceil(free / (1 + variants) / left))
        reserved = min(free, seeds * (1 + variants))
        self.used[subdomain] += reserved
        return seeds, reserved

    def settle_profile(self, subdomain: str, reserved: int, seed_ids: list[str], variants: int) -> None:
        """After `generate` made `seed_ids`: what is left of the reservation becomes their variant
        allowance, the rest is refunded."""
        room = max(0, reserved - len(seed_ids))
        for seed_id in seed_ids:
            allowance = min(variants, room)
            self.variant_allowance[seed_id] = allowance
            room -= allowance
        self.refund(subdomain, room)

    def variants_for_seed(self, seed_id: str, subdomain: str, variants: int) -> int:
        """Variants `broaden` may make of a seed: its allowance, or (a seed of an earlier run) free room."""
        if seed_id in self.variant_allowance:
            return self.variant_allowance.pop(seed_id)
        free = self.free(subdomain)
        granted = variants if free is None else min(variants, free)
        self.used[subdomain] += granted
        return granted

    def hold_for_profile(self, profile_id: str, subdomain: str, per_profile: int, variants: int) -> int:
        """Seeds `generate` may ask of this profile (0: the subdomain is full); their room is held."""
        seeds, reserved = self.reserve_for_profile(subdomain, per_profile, variants)
        if seeds:
            self.held[profile_id] = Hold(subdomain, seeds, reserved)
        return seeds

    def hold_for_seed(self, seed_id: str, subdomain: str, variants: int) -> int:
        """Variants `broaden` may ask of this seed (0: the subdomain is full); their room is held."""
        count = self.variants_for_seed(seed_id, subdomain, variants)
        if count:
            self.held[seed_id] = Hold(subdomain, count, count)
        return count

    def held_count(self, item_id: str) -> int:
        return self.held[item_id].count

    def settle_held_profile(self, profile_id: str, seed_ids: list[str], variants: int) -> None:
        hold = self.held.pop(profile_id)
        self.settle_profile(hold.subdomain, hold.reserved, seed_ids, variants)

    def settle_held_seed(self, seed_id: str, made: int) -> None:
        hold = self.held.pop(seed_id)
        self.refund(hold.subdomain, hold.count - made)

    def release(self, item_id: str) -> None:
        """The request failed: the room held for the input goes back."""
        hold = self.held.pop(item_id, None)
        if hold is not None:
            self.refund(hold.subdomain, hold.reserved)

    def refund(self, subdomain: str, count: int) -> None:
        if count > 0 and self.planned is not None:
            self.used[subdomain] -= count


def ledger_for(ctx: RunContext) -> QuotaLedger:
    """The run's ledger, made on first use from the store."""
    return ctx.services.state(QuotaLedger, lambda: new_ledger(ctx))


def new_ledger(ctx: RunContext) -> QuotaLedger:
    makers = ctx.pipeline.makers("prompt")
    pending = {step.name: pending_records(ctx, step) for step in makers}
    ledger = QuotaLedger(planned_counts(ctx.recipe))
    being_redone = {record.id for records in pending.values() for record in records}
    ledger.used.update(alive_prompts_by_subdomain(ctx.store, ctx.pipeline, being_redone))
    ledger.profiles_left.update(record.meta.get("subdomain") for step in makers if step.consumes == "profile"
                                for record in pending[step.name])
    return ledger


def reopen_declined_profiles(ctx: RunContext, generate_step: Step) -> int:
    """Hand back to the step that makes prompts from profiles the profiles it dropped as `quota_full`
    (under its current settings) in subdomains whose alive prompts fall short of their target, because
    the prompt filter or dedup dropped prompts since. The run's ledger is rebuilt around them. Each profile
    is reopened at most until it makes prompts, so passes over the pipeline still come to an end. Returns
    how many."""
    targets = subdomain_targets(ctx.recipe)
    if targets is None:
        return 0
    settings = generate_step.settings_hash(ctx)
    declined = ctx.store.items_done_as(generate_step.name, Status.DROPPED, QUOTA_FULL, settings)
    if not declined:  # the usual case, and cheaper to learn than counting every alive prompt
        return 0
    alive = alive_prompts_by_subdomain(ctx.store, ctx.pipeline)
    short = {name for name, target in targets.items() if alive.get(name, 0) < target}
    reopened = [item_id for item_id in declined
                if (profile := ctx.store.get(item_id)) is not None and profile.meta.get("subdomain") in short]
    if reopened:
        ctx.store.forget_progress(generate_step.name, reopened)
        ctx.services.forget(QuotaLedger)
    return len(reopened)


def pending_records(ctx: RunContext, step: Step) -> list[Record]:
    """The step's inputs still to be done under its current settings."""
    settings = step.settings_hash(ctx)
    records, after = [], 0
    while page := ctx.store.pending_inputs(step.name, step.upstream, settings, after, limit=5000):
        records.extend(record for _, record in page)
        after = page[-1][0]
    return records
