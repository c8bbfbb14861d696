"""`sftgen status` as text that fits an 80-column terminal: the funnel (counts per step), drop and error
reasons on their own lines, the LLM use of the steps that asked it, record counts and the latest errors.
Step names and reasons are never cut; every text from the store is escaped for rich."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text


def new_table(title: str) -> Table:
    return Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False,
                 show_edge=False)


def print_funnel(console: Console, funnel: list[dict[str, Any]], records: dict, errors: list[dict]) -> None:
    print_counts(console, funnel)
    print_reasons(console, "dropped, by reason", {e["name"]: e["dropped"] for e in funnel})
    print_reasons(console, "errors, by reason", {e["name"]: e.get("error_reasons", {}) for e in funnel})
    print_llm_use(console, funnel)
    if records:
        console.print()
        summary = "; ".join(
            f"{kind}: " + ", ".join(f"{count} {status}" for status, count in sorted(states.items()))
            for kind, states in sorted(records.items())
        )
        console.print(f"records: {escape(summary)}", highlight=False)
    for error in errors:
        detail = (error["detail"] or "").splitlines()
        console.print(f"[red]error[/red] in {escape(error['step'])} on {escape(str(error['label']))}: "
                      f"{escape(str(error['reason']))}: {escape(detail[0][:200] if detail else '')}", highlight=False)


def print_counts(console: Console, funnel: list[dict[str, Any]]) -> None:
    table = new_table("funnel")
    table.add_column("step", no_wrap=True, min_width=max((len(e["name"]) for e in funnel), default=4))
    for column in ("in", "kept", "dropped", "errors", "out", "items/s"):
        table.add_column(column, justify="right", no_wrap=True)
    for entry in funnel:
        table.add_row(
            escape(entry["name"]), f"{entry['in']:,}", f"{entry['kept']:,}", f"{sum(entry['dropped'].values()):,}",
            f"{entry['errors']:,}", f"{entry['out']:,}",
            "-" if entry.get("items_per_s") is None else f"{entry['items_per_s']:.1f}",
        )
    console.print()
    console.print(table)


def print_reasons(console: Console, title: str, by_step: dict[str, dict[str, int]]) -> None:
    """One line per step, `step: reason count, ...`; a long line wraps between reasons, never inside a name."""
    lines = [
        f"  [bold]{escape(step)}[/bold]: " + ", ".join(f"{escape(str(reason))} {count:,}" for reason, count in
                                                       reasons.items())
        for step, reasons in by_step.items() if reasons
    ]
    if lines:
        console.print(f"{title}:", style="bold", highlight=False)
        for line in lines:
            console.print(line, highlight=False, overflow="fold")


def print_llm_use(console: Console, funnel: list[dict[str, Any]]) -> None:
    used = [e for e in funnel if e["llm_requests"] or e["cache_hits"] or e["prompt_tokens"] or e["completion_tokens"]]
    if not used:
        return
    table = new_table("LLM use")
    table.add_column("step", no_wrap=True, min_width=max(len(e["name"]) for e in used))
    for column in ("requests", "cache hits", "prompt tokens", "completion tokens"):
        table.add_column(column, justify="right")
    for entry in used:
        table.add_row(escape(entry["name"]), f"{entry['llm_requests']:,}", f"{entry['cache_hits']:,}",
                      f"{entry['prompt_tokens']:,}", f"{entry['completion_tokens']:,}")
    console.print()
    console.print(table)


def print_quotas(console: Console, quotas: list[dict[str, Any]]) -> None:
    """Target vs actual kept prompts per subdomain (recipe `prompts.target_total` and the shares)."""
    if not quotas:
        return
    table = new_table("prompt quotas")
    table.add_column("subdomain", overflow="fold")
    for column in ("share", "target", "actual", "in progress", "deficit"):
        table.add_column(column, justify="right")
    for row in quotas:
        table.add_row(escape(str(row["subdomain"])), f"{row['share']:.0%}",
                      "-" if row["target"] is None else str(row["target"]), str(row["actual"]),
                      str(row["in_progress"]), "-" if row["deficit"] is None else str(row["deficit"]))
    console.print()
    console.print(table)


def print_review(console: Console, review: dict[str, dict[str, int]]) -> None:
    """Human review per kind: accepted / edited / rejected / pending (and disputed) of the review queue."""
    queued = {kind: counts for kind, counts in review.items() if counts["queue"]}
    if queued:
        console.print()
    for kind, counts in queued.items():
        console.print(
            f"review {escape(kind)}s: {counts['accepted']} accepted, {counts['edited']} edited, "
            f"{counts['rejected']} rejected, {counts['pending']} pending"
            + (f", {counts['disputed']} disputed" if counts["disputed"] else "")
            + f" (queue {counts['queue']})"
            + (f"; {counts['waiting_for_run']} decided since the last run: `sftgen run` applies them"
               if counts.get("waiting_for_run") else ""), highlight=False,
        )


def print_judge(console: Console, judge: dict[str, Any]) -> None:
    """A warning per reason the LLM judge's scores cannot be trusted (`JudgeHealth.as_dict()`); nothing when
    they can."""
    for problem in judge["problems"]:
        console.print(Text(f"warning: {problem}; its scores no longer drop answers (those below the threshold are "
                           "kept with needs_review: true); review.policy: all sends every answer to experts",
                           style="yellow"))
