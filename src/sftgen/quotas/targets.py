"""The quota of each subdomain: the recipe's `prompts.target_total` split by the subdomains' shares."""

from __future__ import annotations

import math

from sftgen.recipe import Recipe

QUOTA_FULL = "quota_full"
"""The drop reason of a profile or seed that a prompt-making step declined: its subdomain was full."""


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
