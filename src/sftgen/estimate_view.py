"""`sftgen run --dry-run` output: the per-step estimate as a table with what it assumed, or JSON
(`RunEstimate.as_dict`, its shape in the README)."""

from __future__ import annotations

import asyncio
import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sftgen.estimate import RunEstimate, estimate_run
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project


def dry_run(project: Project, until: str | None, sample: int, console: Console, as_json: bool = False) -> None:
    pipeline = standard_pipeline(project.recipe)
    estimate = asyncio.run(estimate_run(project, pipeline, pipeline.until(until), sample))
    if as_json:
        print(json.dumps(estimate.as_dict(), indent=2))
    else:
        print_estimate(console, estimate, project.recipe.llm)


def print_estimate(console: Console, estimate: RunEstimate, llm) -> None:
    priced = llm.price_per_million_input > 0 or llm.price_per_million_output > 0
    table = Table(title=f"dry run: estimate from a preview of up to {estimate.sample} inputs per step "
                        "(nothing committed)", title_justify="left")
    columns = ["step", "pending now", "inputs", "previewed", "out/in", "requests", "prompt tok", "completion tok",
               "cost $" if priced else "cost", "minutes", "note"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("step", "note") else "right")
    for e in estimate.steps:
        marks = [m for m in (e.note, f"capped by {e.capped_by}" if e.capped_by and e.capped_by not in e.note
                             else "") if m]
        table.add_row(
            escape(e.step) + (" (guess)" if e.guessed else ""), str(e.pending_now), f"{e.inputs:,.0f}",
            str(e.sampled), "-" if e.outputs_per_input is None else f"{e.outputs_per_input:.2f}",
            f"{e.requests:,.0f}", f"{e.prompt_tokens:,.0f}", f"{e.completion_tokens:,.0f}",
            f"{e.cost_usd:,.2f}" if priced else "-", f"{e.minutes:,.1f}", escape("; ".join(marks)),
        )
    total = estimate.totals()
    table.add_row("total", "", "", "", "", f"{total['requests']:,.0f}", f"{total['prompt_tokens']:,.0f}",
                  f"{total['completion_tokens']:,.0f}", f"{total['cost_usd']:,.2f}" if priced else "-",
                  f"{total['minutes']:,.1f}", "", style="bold")
    console.print(table)
    console.print("assumed: " + escape("; ".join(estimate.assumptions)), soft_wrap=True)
    if not priced:
        console.print("(set llm.price_per_million_input / _output in recipe.yaml to see costs)")
