"""Coverage: target vs actual share per subdomain (from the recipe's shares and `quota_status`), and the
actual spread over the prompts' topic, use case and task type."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sftgen.core.graph import Pipeline
from sftgen.quotas.status import quota_status
from sftgen.recipe import Recipe
from sftgen.records import Record
from sftgen.store import Store

META_FIELDS = ("topic", "use_case", "task_type", "difficulty")
TOP_VALUES = 15
NONE = "(none)"


def subdomain_coverage(store: Store, recipe: Recipe, pipeline: Pipeline, prompts: list[Record]) -> dict[str, Any]:
    """Shares over the kept prompts given; targets and deficits from `quota_status`."""
    counts = Counter(prompt.meta.get("subdomain") or NONE for prompt in prompts)
    total = len(prompts)
    quotas = {row["subdomain"]: row for row in quota_status(store, recipe, pipeline)}
    rows = []
    for sub in recipe.domain.subdomains:
        quota = quotas.get(sub.name, {})
        actual = counts.pop(sub.name, 0)
        rows.append({
            "subdomain": sub.name, "target_share": round(sub.share, 4),
            "actual_share": round(actual / total, 4) if total else 0.0, "actual": actual,
            "target": quota.get("target"), "deficit": quota.get("deficit"),
        })
    for name, actual in counts.most_common():  # prompts outside the recipe's subdomains
        rows.append({"subdomain": name, "target_share": 0.0, "actual_share": round(actual / total, 4),
                     "actual": actual, "target": None, "deficit": None})
    return {"domain": recipe.domain.name, "total": total, "subdomains": rows,
            "under_quota": under_quota(rows)}


def under_quota(rows: list[dict[str, Any]]) -> list[str]:
    """With quotas: the subdomains with a deficit; without: those below their target share."""
    if any(row["target"] is not None for row in rows):
        return [row["subdomain"] for row in rows if row["deficit"]]
    return [row["subdomain"] for row in rows if row["target_share"] and row["actual_share"] < row["target_share"]]


def meta_spread(prompts: list[Record], fields: tuple[str, ...] = META_FIELDS) -> dict[str, list[dict[str, Any]]]:
    """Per meta field: the most common values with count and share, the rest summed as `(other)`."""
    total = len(prompts)
    spread = {}
    for name in fields:
        counts = Counter(str(prompt.meta.get(name) or NONE).strip().lower() for prompt in prompts)
        top = counts.most_common(TOP_VALUES)
        rows = [{"value": value, "count": count, "share": round(count / total, 4)} for value, count in top]
        rest = total - sum(count for _, count in top)
        if rest:
            rows.append({"value": "(other)", "count": rest, "share": round(rest / total, 4)})
        spread[name] = {"distinct": len(counts), "values": rows}
    return spread
