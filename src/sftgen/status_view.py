"""`sftgen status` as a table: the funnel, record counts and the latest errors."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_funnel(console: Console, funnel: list[dict[str, Any]], records: dict, errors: list[dict]) -> None:
    table = Table(title="funnel", title_justify="left")
    for column in ("step", "in", "kept", "out", "dropped (by reason)", "errors", "requests", "cache hits", "tokens",
                   "items/s"):
        table.add_column(column, justify="left" if column in ("step", "dropped (by reason)") else "right")
    for entry in funnel:
        dropped = ", ".join(f"{reason}: {count}" for reason, count in entry["dropped"].items()) or "-"
        table.add_row(
            entry["name"], str(entry["in"]), str(entry["kept"]), str(entry["out"]), dropped,
            str(entry["errors"]), str(entry["llm_requests"]), str(entry["cache_hits"]),
            str(entry["prompt_tokens"] + entry["completion_tokens"]),
            "-" if entry.get("items_per_s") is None else f"{entry['items_per_s']:.1f}",
        )
    console.print(table)
    if records:
        summary = "; ".join(
            f"{kind}: " + ", ".join(f"{count} {status}" for status, count in sorted(states.items()))
            for kind, states in sorted(records.items())
        )
        console.print(f"records: {summary}", highlight=False)
    for error in errors:
        console.print(f"[red]error[/red] in {error['step']} on {error['label']}: {error['reason']}: "
                      f"{(error['detail'] or '').splitlines()[0][:200]}", highlight=False)


def print_quotas(console: Console, quotas: list[dict[str, Any]]) -> None:
    """Target vs actual kept prompts per subdomain (recipe `prompts.target_total` and the shares)."""
    if not quotas:
        return
    table = Table(title="prompt quotas", title_justify="left")
    for column in ("subdomain", "share", "target", "actual", "in progress", "deficit"):
        table.add_column(column, justify="left" if column == "subdomain" else "right")
    for row in quotas:
        table.add_row(row["subdomain"], f"{row['share']:.0%}", "-" if row["target"] is None else str(row["target"]),
                      str(row["actual"]), str(row["in_progress"]), "-" if row["deficit"] is None else str(row["deficit"]))
    console.print(table)


def print_review(console: Console, review: dict[str, dict[str, int]]) -> None:
    """Human review per kind: accepted / edited / rejected / pending (and disputed) of the review queue."""
    for kind, counts in review.items():
        if counts["queue"] == 0:
            continue
        console.print(
            f"review {kind}s: {counts['accepted']} accepted, {counts['edited']} edited, {counts['rejected']} rejected, "
            f"{counts['pending']} pending" + (f", {counts['disputed']} disputed" if counts["disputed"] else "")
            + f" (queue {counts['queue']})"
            + (f"; {counts['waiting_for_run']} decided since the last run: `sftgen run` applies them"
               if counts.get("waiting_for_run") else ""), highlight=False,
        )
