"""`sftgen run --dry-run` output: the per-step estimate as a table, or JSON."""

from __future__ import annotations

import asyncio
import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sftgen.estimate import StepEstimate, estimate_run
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project


def dry_run(project: Project, until: str | None, sample: int, console: Console, as_json: bool = False) -> None:
    pipeline = standard_pipeline(project.recipe)
    estimates = asyncio.run(estimate_run(project, pipeline, pipeline.until(until), sample))
    if as_json:
        console.print_json(json.dumps([e.as_dict() for e in estimates]))
    else:
        print_estimates(console, estimates, sample, project.recipe.llm)


def print_estimates(console: Console, estimates: list[StepEstimate], sample: int, llm) -> None:
    priced = llm.price_per_million_input > 0 or llm.price_per_million_output > 0
    table = Table(title=f"dry run: estimate from a preview of up to {sample} inputs per step (nothing committed)",
                  title_justify="left")
    columns = ["step", "pending now", "inputs", "previewed", "out/in", "requests", "prompt tok", "completion tok",
               "cost $" if priced else "cost", "minutes", "note"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("step", "note") else "right")
    for e in estimates:
        table.add_row(
            escape(e.step), str(e.pending_now), f"{e.inputs:,.0f}", str(e.sampled),
            "-" if e.outputs_per_input is None else f"{e.outputs_per_input:.2f}",
            f"{e.requests:,.0f}", f"{e.prompt_tokens:,.0f}", f"{e.completion_tokens:,.0f}",
            f"{e.cost_usd:,.2f}" if priced else "-", f"{e.minutes:,.1f}", escape(e.note),
        )
    total = lambda attr: sum(getattr(e, attr) for e in estimates)  # noqa: E731
    table.add_row("total", "", "", "", "", f"{total('requests'):,.0f}", f"{total('prompt_tokens'):,.0f}",
                  f"{total('completion_tokens'):,.0f}", f"{total('cost_usd'):,.2f}" if priced else "-",
                  f"{total('minutes'):,.1f}", "", style="bold")
    console.print(table)
    if not priced:
        console.print("(set llm.price_per_million_input / _output in recipe.yaml to see costs)")
