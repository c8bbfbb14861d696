"""Distribution control: per-subdomain quotas from the recipe's shares and `prompts.target_total`.

- `subdomain_targets(recipe)`: the quota of each subdomain (largest remainder, so they add up to the total);
- `quota_status(store, recipe, pipeline)`: target, actual (kept prompts at the last prompt step), prompts
  still on their way there, and the deficit, per subdomain (for `sftgen status` and web research);
- `QuotaLedger`: what `generate` and `broaden` may still make per subdomain in this run. It starts from
  the prompts alive in the store (made and not dropped since), leaving out those about to be redone,
  and is charged as prompts are made, so full subdomains stop and under-filled ones get more per profile;
- `reopen_declined_profiles`: when later steps drop so many of a subdomain's prompts that the ones
  still alive cannot meet its target, the profiles `generate` declined as `quota_full` get another turn.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sftgen.core.graph import Pipeline
from sftgen.recipe import Recipe
from sftgen.records import Status
from sftgen.core.step import Step
from sftgen.store import Store

MAKING_STEPS = ("generate", "broaden")
"""Steps that make new prompts; `rephrase` replaces one prompt by one."""
REPHRASE_STEP = "rephrase"
LEDGER_KEY = "quotas.ledger"
QUOTA_FULL = "quota_full"
"""The drop reason of a profile or seed that `generate` or `broaden` declined: its subdomain was full."""


def split_by_shares(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Largest remainder: whole numbers in proportion to the shares that add up to `total`."""
    weight = sum(shares.values())
    exact = {name: total * share / weight for name, share in shares.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    left = total - sum(counts.values())
    for name in sorted(exact, key=lambda n: (counts[n] - exact[n], n))[:left]:
        counts[name] += 1
    return counts


def subdomain_targets(recipe: Recipe) -> dict[str, int] | None:
    total = recipe.prompts.target_total
    if total is None:
        return None
    return split_by_shares(total, {sub.name: sub.share for sub in recipe.domain.subdomains})


def planned_counts(recipe: Recipe) -> dict[str, int] | None:
    """What generation aims at: the quotas times the overshoot that makes up for later drops."""
    total = recipe.prompts.target_total
    if total is None:
        return None
    planned_total = math.ceil(total * recipe.prompts.overshoot)
    return split_by_shares(planned_total, {sub.name: sub.share for sub in recipe.domain.subdomains})


def kept_prompts_by_subdomain(store: Store, pipeline: Pipeline) -> Counter:
    final = pipeline.final("prompt")
    counts: Counter = Counter()
    if final is None:
        return counts
    for record in store.emitted(final.name, kind="prompt"):
        if record.status == Status.KEPT:
            counts[record.meta.get("subdomain") or "(none)"] += 1
    return counts


def alive_prompts_by_subdomain(
    store: Store, skip_profiles: Iterable[str] = (), skip_seeds: Iterable[str] = ()
) -> Counter:
    """Prompts made by generate/broaden and not dropped since (neither they nor their rephrasing).
    Prompts of `skip_profiles` / variants of `skip_seeds` are left out: they are about to be made again."""
    skip_profiles, skip_seeds = set(skip_profiles), set(skip_seeds)
    counts: Counter = Counter()
    for record in store.emitted(list(MAKING_STEPS), kind="prompt"):
        if record.status != Status.KEPT or record.meta.get("profile_id") in skip_profiles:
            continue
        if record.meta.get("variant_of") in skip_seeds:
            continue
        counts[record.meta.get("subdomain") or "(none)"] += 1
    for record in store.emitted(REPHRASE_STEP, kind="prompt"):
        # A dropped rephrasing stands for its original, which itself stays `kept`.
        if record.status == Status.DROPPED and record.meta.get("rephrased_from") and \
                record.meta.get("profile_id") not in skip_profiles:
            counts[record.meta.get("subdomain") or "(none)"] -= 1
    return counts


def quota_status(store: Store, recipe: Recipe, pipeline: Pipeline) -> list[dict[str, Any]]:
    """Per subdomain: share, target, actual (kept at the last prompt step), in_progress, deficit."""
    targets = subdomain_targets(recipe)
    actual = kept_prompts_by_subdomain(store, pipeline)
    alive = alive_prompts_by_subdomain(store)
    rows = []
    for sub in recipe.domain.subdomains:
        target = None if targets is None else targets[sub.name]
        rows.append({
            "subdomain": sub.name,
            "share": sub.share,
            "target": target,
            "actual": actual.get(sub.name, 0),
            "in_progress": max(0, alive.get(sub.name, 0) - actual.get(sub.name, 0)),
            "deficit": None if target is None else max(0, target - actual.get(sub.name, 0)),
        })
    return rows


@dataclass
class QuotaLedger:
    planned: dict[str, int] | None
    """None: no quotas, every profile gets `per_profile`."""
    used: Counter = field(default_factory=Counter)
    profiles_left: Counter = field(default_factory=Counter)
    """Profiles of each subdomain `generate` has still to serve in this run."""
    variant_allowance: dict[str, int] = field(default_factory=dict)
    """Seed prompt id -> variants `broaden` may make of it, reserved when `generate` made the seed."""

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

    def refund(self, subdomain: str, count: int) -> None:
        if count > 0 and self.planned is not None:
            self.used[subdomain] -= count


def ledger_for(ctx, generate_step: Step | None = None, broaden_step: Step | None = None) -> QuotaLedger:
    """The run's ledger, made on first use from the store."""
    ledger = ctx.shared.get(LEDGER_KEY)
    if ledger is not None:
        return ledger
    store, recipe = ctx.store, ctx.recipe
    pending_profiles = pending_records(store, generate_step, ctx)
    pending_seeds = pending_records(store, broaden_step, ctx)
    ledger = QuotaLedger(planned_counts(recipe))
    ledger.used.update(alive_prompts_by_subdomain(store, {r.id for r in pending_profiles},
                                                  {r.id for r in pending_seeds}))
    ledger.profiles_left.update(r.meta.get("subdomain") for r in pending_profiles)
    ctx.shared[LEDGER_KEY] = ledger
    return ledger


def reopen_declined_profiles(ctx, generate_step: Step) -> int:
    """Hand back to `generate` the profiles it dropped as `quota_full` (under its current settings) in
    subdomains whose alive prompts fall short of their target, because the prompt filter or dedup
    dropped prompts since. The run's ledger is rebuilt around them. Each profile is reopened at most
    until it makes prompts, so passes over the pipeline still come to an end. Returns how many."""
    targets = subdomain_targets(ctx.recipe)
    if targets is None:
        return 0
    settings = generate_step.settings_hash(ctx)
    declined = [row["item_id"] for row in ctx.store.progress_rows(generate_step.name)
                if row["outcome"] == Status.DROPPED and row["reason"] == QUOTA_FULL and row["settings"] == settings]
    if not declined:  # the usual case, and cheaper to learn than counting every alive prompt
        return 0
    alive = alive_prompts_by_subdomain(ctx.store)
    short = {name for name, target in targets.items() if alive.get(name, 0) < target}
    reopened = [item_id for item_id in declined
                if (profile := ctx.store.get(item_id)) is not None and profile.meta.get("subdomain") in short]
    if reopened:
        ctx.store.forget_progress(generate_step.name, reopened)
        ctx.shared.pop(LEDGER_KEY, None)
    return len(reopened)


def pending_records(store: Store, step: Step | None, ctx) -> list:
    if step is None:
        return []
    settings = step.settings_hash(ctx)
    records, after = [], 0
    while page := store.pending_inputs(step.name, step.upstream, settings, after, limit=5000):
        records.extend(record for _, record in page)
        after = page[-1][0]
    return records
