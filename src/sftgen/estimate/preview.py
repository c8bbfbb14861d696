"""The dry run's preview: each step in order takes up to `sample` of the inputs it would see (the project's
pending inputs, plus what the preview's upstream steps made) on a scratch copy of the store, LLM steps
really asking the configured LLM with the scratch copy as their request cache. Nothing is written to the
project's store, and the scratch copy is removed however the preview ends (Ctrl-C and SIGTERM included).

Each step runs in three rounds (one input, one input, the rest): the first also pays what the step does
once per run (loading a model), and the difference between the two later ones, of different sizes, is the
CPU per input without what each call of the step costs whatever its size (building an index).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from statistics import median
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sftgen.core.context import RunContext
from sftgen.core.graph import Pipeline
from sftgen.core.step import SourceStep, Step
from sftgen.embed.cache import ensure_distilled, is_distilled
from sftgen.embed.errors import EmbedderUnavailable
from sftgen.estimate.measure import Measurement, Round
from sftgen.project import Project
from sftgen.quotas.status import alive_prompts_by_subdomain, kept_prompts_by_subdomain
from sftgen.run.executors.local import LocalExecutor, source_settings, worker_count
from sftgen.run.open import open_run
from sftgen.store import Store
from sftgen.store.db import copy_database

SCRATCH_PREFIX = "sftgen-dry-run-"
FAN_OUT = 4


@dataclass
class Before:
    """The project as the preview found it (what the run starts from)."""

    pending: dict[str, int]
    alive_prompts: dict[str, int]
    """Per subdomain: prompts made and not dropped since (what the quota ledger starts from)."""
    kept_prompts: int
    """Prompts kept at the last prompt step now."""
    research_queries: int
    research_pages: int
    cpu_share: float = 1.0
    """The share of a core this process gets while the preview runs (core_share, sampled before each step)."""
    distilled_s: float | None = None
    """Seconds spent distilling the embedder before the preview (None: this machine had it already, or no
    step uses it): once per machine, so neither in a step's figures nor in the run's minutes."""


def scratch_copy(project: Project, into: Path, graph) -> Store:
    """A consistent copy of the project's store (SQLite backup API, safe while another run writes)."""
    target = into / "store.db"
    if (project.state_dir / "store.db").exists():
        copy_database(project.state_dir / "store.db", target)
    return Store(target, graph)


@asynccontextmanager
async def scratch_store(project: Project, pipeline: Pipeline) -> AsyncIterator[Store]:
    scratch_dir = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    try:
        store = scratch_copy(project, scratch_dir, pipeline.upstream_map())
        try:
            yield store
        finally:
            store.close()
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)


def pending_now(step: Step, ctx: RunContext) -> int:
    if isinstance(step, SourceStep):
        base = step.settings_hash(ctx)
        discovered = list(step.discover(ctx))
        done = ctx.store.done_settings(step.name, [s.id for s in discovered])
        return sum(1 for s in discovered if done.get(s.id) != source_settings(base, s))
    if not step.upstream:
        return 0
    return ctx.store.count_pending(step.name, step.upstream, step.settings_hash(ctx))


def before_preview(steps: list[Step], ctx: RunContext) -> Before:
    research = [q for q in ctx.store.records_of_kind("query") if q.meta.get("purpose") == "research"] \
        if ctx.recipe.research.enabled else []
    pages = {fetched["url"] for q in research for fetched in q.meta.get("fetched", [])}
    return Before(
        pending={step.name: pending_now(step, ctx) for step in steps},
        alive_prompts=dict(alive_prompts_by_subdomain(ctx.store, ctx.pipeline)),
        kept_prompts=sum(kept_prompts_by_subdomain(ctx.store, ctx.pipeline).values()),
        research_queries=len(research), research_pages=len(pages),
    )


async def preview(project: Project, pipeline: Pipeline, steps: list[Step], sample: int,
                  llm=None) -> tuple[Before, list[Measurement]]:
    """Run up to `sample` inputs through each step on a scratch store; what each step measured."""
    async with scratch_store(project, pipeline) as store:
        start_llm = any(step.uses_llm for step in steps)
        quiet = logging.NullHandler()  # the preview's item errors are counted in the estimate, not printed
        logging.getLogger("sftgen").addHandler(quiet)
        try:
            return await run_preview(project, pipeline, steps, sample, store, llm, start_llm)
        finally:
            logging.getLogger("sftgen").removeHandler(quiet)


async def run_preview(project: Project, pipeline: Pipeline, steps: list[Step], sample: int, store: Store, llm,
                      start_llm: bool) -> tuple[Before, list[Measurement]]:
    async with open_run(project, pipeline, store, llm=llm, start_llm=start_llm, limit=sample) as ctx:
        before = before_preview(steps, ctx)  # before any preview adds to the pending counts
        before.distilled_s = distil_first(steps, ctx)
        executor = LocalExecutor()
        measurements: list[Measurement] = []
        shares = []
        for step in steps:
            shares.append(core_share())
            rounds: list[Round] = []
            for share in split(preview_size(step, sample, measurements)):
                ctx.limit = share
                seen = {row["item_id"] for r in rounds for row in r.rows}
                rounds.append(await timed_round(executor, step, ctx, store, seen))
            measurements.append(Measurement(step.name, step.uses_llm, step.concurrency(ctx),
                                            worker_count(step, ctx), rounds))
    before.cpu_share = median(shares) if shares else 1.0
    return before, measurements


def distil_first(steps: list[Step], ctx: RunContext) -> float | None:
    """Distil the embedder now when a step will use it and this machine has not (a minute or two of CPU):
    measured inside the first step's preview it would be taken for that step's cost in every run."""
    if is_distilled() or not any(step.uses_embedder(ctx) for step in steps):
        return None
    started = time.perf_counter()
    try:
        ensure_distilled()
    except EmbedderUnavailable:  # the steps' previews meet it and count it as their errors
        return None
    return time.perf_counter() - started


def core_share(seconds: float = 0.02) -> float:
    """CPU over wall time of a short busy loop: about 1 on an idle core, less when other processes share
    the machine's cores (then every CPU second of the run takes longer on the clock)."""
    cpu, wall = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < seconds:
        sum(range(1000))
    return min(1.0, (time.process_time() - cpu) / (time.perf_counter() - wall))


def preview_size(step: Step, sample: int, done: list[Measurement]) -> int:
    """Inputs this step previews: `sample`; a step without LLM (it costs no request) takes every record its
    upstream previews made, up to FAN_OUT times the sample, so after a step that makes several records per
    input (3 search queries per prompt) the steps that read their results find them complete (the passages
    of every previewed prompt)."""
    if step.uses_llm:
        return sample
    made = sum(row["n_outputs"] for m in done if m.step in step.upstream for row in m.rows)
    return max(sample, min(FAN_OUT * sample, made))


def split(sample: int) -> list[int]:
    """Round sizes: one input (it also pays what the step does once), one input, the rest. The CPU per input
    is the slope between the last two: the wider apart their sizes, the less a few milliseconds of noise
    per round weigh on it (rounds of 2 and 4 inputs read 1 ms per input as anything from 0 to 10)."""
    return [1, 1, sample - 2] if sample >= 4 else [sample]


async def timed_round(executor: LocalExecutor, step: Step, ctx: RunContext, store: Store,
                      seen: set[str]) -> Round:
    started, cpu, wall = time.time() - 1e-3, time.process_time(), time.perf_counter()
    await executor.run_step(step, ctx)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rows = [row for row in store.progress.done_since(step.name, started) if row["item_id"] not in seen]
    if not isinstance(step, SourceStep):  # a side drop (one query of a profile) is no input of the step
        rows = [row for row in rows if store.get(row["item_id"]) is not None]
    return Round(rows, cpu, wall)
