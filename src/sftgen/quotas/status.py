"""Where each subdomain stands: its target, the prompts kept at the pipeline's last prompt step, the prompts
still on their way there (made and not dropped since), and the deficit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sftgen.core.graph import Pipeline
from sftgen.quotas.targets import subdomain_targets
from sftgen.recipe import Recipe
from sftgen.records import Status
from sftgen.store import Store


def kept_prompts_by_subdomain(store: Store, pipeline: Pipeline) -> Counter:
    final = pipeline.final("prompt")
    if final is None:
        return Counter()
    return Counter(store.emits.tally_emitted([final.name], "prompt", Status.KEPT, by="subdomain"))


def alive_prompts_by_subdomain(store: Store, pipeline: Pipeline, being_redone: Iterable[str] = ()) -> Counter:
    """Prompts the making steps made and nothing dropped since (neither they nor their replacements, such
    as a rephrasing). Prompts made from an input in `being_redone` (a profile, or the seed of variants)
    are left out: they are about to be made again."""
    skip = set(being_redone)
    makers = [step.name for step in pipeline.makers("prompt")]
    counts = Counter(store.emits.tally_emitted(makers, "prompt", Status.KEPT, by="subdomain",
                                               not_in={"profile_id": skip, "variant_of": skip}) if makers else {})
    replacers = [step.name for step in pipeline.replacers("prompt")]
    if replacers:  # a dropped rephrasing stands for its original, which itself stays `kept`
        counts.subtract(store.emits.tally_emitted(replacers, "prompt", Status.DROPPED, by="subdomain",
                                                  truthy="rephrased_from", not_in={"profile_id": skip}))
    return counts


def quota_status(store: Store, recipe: Recipe, pipeline: Pipeline) -> list[dict[str, Any]]:
    """Per subdomain: share, target, actual (kept at the last prompt step), in_progress, deficit."""
    targets = subdomain_targets(recipe)
    actual = kept_prompts_by_subdomain(store, pipeline)
    alive = alive_prompts_by_subdomain(store, pipeline)
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
