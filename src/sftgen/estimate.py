"""`sftgen run --dry-run`: what a run would cost, per step, before any token is spent on the project.

A preview on a scratch copy of the store: each step in order takes up to `sample` of the inputs it
would see (the project's pending inputs, plus what the preview's upstream steps made), and LLM steps
really ask the configured LLM, with the scratch copy as their request cache. Nothing is written to the
project's store. From the preview we measure, per step, the LLM requests, tokens and seconds per input
and the outputs per input, and extrapolate:

    inputs(step)  = pending now in the project + sum of outputs(upstream) expected from this run
    outputs(step) = inputs(step) * outputs per input seen in the preview

Costs use the recipe's llm.price_per_million_input / _output. Cache hits in the preview count as
free, as they would in the run. One pass over the steps: what a loop (web research feeding chunking
again) adds in later passes is not in the estimate.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sftgen.run.executors.local import LocalExecutor, source_settings
from sftgen.project import Project
from sftgen.run.open import open_run
from sftgen.core.graph import Pipeline
from sftgen.core.step import SourceStep, Step
from sftgen.core.context import RunContext
from sftgen.store import Store
from sftgen.store.db import copy_database


@dataclass
class StepEstimate:
    step: str
    uses_llm: bool
    pending_now: int
    inputs: float
    sampled: int
    outputs_per_input: float | None
    requests: float
    prompt_tokens: float
    completion_tokens: float
    cost_usd: float
    minutes: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def scratch_copy(project: Project, into: Path, graph) -> Store:
    """A consistent copy of the project's store (SQLite backup API, safe while another run writes)."""
    target = into / "store.db"
    if (project.state_dir / "store.db").exists():
        copy_database(project.state_dir / "store.db", target)
    return Store(target, graph)


def pending_now(step: Step, ctx: RunContext) -> int:
    if isinstance(step, SourceStep):
        base = step.settings_hash(ctx)
        discovered = list(step.discover(ctx))
        done = ctx.store.done_settings(step.name, [s.id for s in discovered])
        return sum(1 for s in discovered if done.get(s.id) != source_settings(base, s))
    if not step.upstream:
        return 0
    return ctx.store.count_pending(step.name, step.upstream, step.settings_hash(ctx))


async def estimate_run(project: Project, pipeline: Pipeline, steps: list[Step], sample: int,
                       llm=None) -> list[StepEstimate]:
    """Preview `sample` inputs per step on a scratch store and extrapolate to the whole run."""
    settings = project.recipe.llm
    concurrency = settings.max_concurrency
    scratch_dir = Path(tempfile.mkdtemp(prefix="sftgen-dry-run-"))
    store = scratch_copy(project, scratch_dir, pipeline.upstream_map())
    estimates: list[StepEstimate] = []
    outputs: dict[str, float] = {}
    try:
        start_llm = any(step.uses_llm for step in steps)
        async with open_run(project, pipeline, store, llm=llm, start_llm=start_llm, limit=sample) as ctx:
            executor = LocalExecutor()
            pending = {step.name: pending_now(step, ctx) for step in steps}  # before any preview adds to it
            for step in steps:
                now = pending[step.name]
                inputs = now + sum(outputs.get(name, 0.0) for name in step.upstream)
                started = time.time() - 1e-3
                await executor.run_step(step, ctx)
                rows = store.progress.done_since(step.name, started)
                estimate = extrapolate(step, now, inputs, rows, settings, concurrency)
                outputs[step.name] = inputs * (estimate.outputs_per_input or 0.0)
                estimates.append(estimate)
    finally:
        store.close()
        shutil.rmtree(scratch_dir, ignore_errors=True)
    return estimates


def extrapolate(step: Step, now: int, inputs: float, rows: list, settings, concurrency: int) -> StepEstimate:
    sampled = len(rows)
    if sampled == 0:
        note = "nothing to preview" if inputs == 0 else "no preview input reached this step; estimated 0"
        return StepEstimate(step.name, step.uses_llm, now, inputs, 0, None, 0, 0, 0, 0, 0, note)

    def per_input(column: str) -> float:
        return sum(row[column] for row in rows) / sampled

    requests = inputs * per_input("llm_requests")
    prompt = inputs * per_input("prompt_tokens")
    completion = inputs * per_input("completion_tokens")
    cost = (prompt * settings.price_per_million_input + completion * settings.price_per_million_output) / 1e6
    parallel = concurrency if step.uses_llm else 1
    minutes = inputs * per_input("seconds") / parallel / 60
    return StepEstimate(step.name, step.uses_llm, now, inputs, sampled, per_input("n_outputs"),
                        requests, prompt, completion, cost, minutes)
