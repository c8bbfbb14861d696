"""The Ray executor: the same steps as the local executor, with the per-item work of LLM steps (and
chunking) on a Ray cluster.

- The driver runs the executor loop (steps in order, passes until nothing is left) and is the only
  writer of the store: remote workers return each input's results and the LLM replies they received,
  and the driver commits them in batches, as the local executor does.
- Remote work runs in async actors (`StepWorker`), one per CPU of the cluster, spread over its nodes;
  each keeps its share of the LLM concurrency in flight with its own ChatClient.
- Workers open the store read-only, for what steps look up while they run (a profile's chunk, the
  request cache): the project folder must be on a filesystem every node sees at the same path.
- Source steps (files), global steps (dedup), steps that write the store while they run
  (`Step.runs_on_driver`: research) and LLM steps with the embedded server (it listens on the driver's
  127.0.0.1) run on the driver; of the other steps, those with an LLM and those marked `remote_ok`
  (chunking) run on the workers.
- Without --address (a new local Ray) or with an address on 127.0.0.1, every Ray process binds and
  dials 127.0.0.1 only (see ray_loopback.py).

Errors stay per item: an exception in a worker is recorded on its input by the worker's run_one, and a
lost worker (node died) becomes an error on the inputs it held; the next run retries them.
"""

from __future__ import annotations

import logging
import math
import os
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from sftgen.run.executors.local import LocalExecutor, ProgressReporter, RunSummary
from sftgen.failures import RunStopped
from sftgen.run.executors.ray_loopback import (LOOPBACK, is_loopback_address, keep_ray_on_loopback,
                                           ray_processes_stay_off_the_network)
from sftgen.records import Record, Status
from sftgen.core.graph import Pipeline
from sftgen.core.step import GlobalStep, SourceStep, Step
from sftgen.core.context import RunContext
from sftgen.llm.client import ChatClient
from sftgen.llm.provider import client_options
from sftgen.project import Project
from sftgen.recipe import Recipe
from sftgen.run.budget import BudgetGuard
from sftgen.run.open import open_run
from sftgen.store import ItemResult, Store

log = logging.getLogger("sftgen.run")


class CollectingCache:
    """A worker's request cache: reads the project's store, keeps new replies for the driver to write."""

    def __init__(self, store):
        self.store = store
        self.new: list[tuple] = []

    def cache_get(self, key: str):
        return self.store.cache_get(key)

    def cache_put(self, key: str, model: str, request: dict | bytes, response: dict | bytes, usage: dict) -> None:
        self.new.append((key, model, request, response, usage))


class StepWorkerImpl:
    """What runs inside a Ray actor: a run context of its own over the project (`open_run`, entered at its
    first item), read-only on the store, with its share of the LLM concurrency."""

    def __init__(self, project_dir: str, recipe_json: str, llm_concurrency: int, pipeline: Pipeline):
        recipe = Recipe.model_validate_json(recipe_json)
        self.project = Project(Path(project_dir), recipe)
        self.pipeline = pipeline
        self.store = Store(self.project.state_dir / "store.db")  # read only: the driver commits
        self.cache = CollectingCache(self.store)
        self.llm_concurrency = llm_concurrency
        self.opened = AsyncExitStack()
        self.ctx: RunContext | None = None
        self.executor = LocalExecutor()

    async def context(self) -> RunContext:
        if self.ctx is None:
            settings = self.project.recipe.llm
            llm = None
            if settings.provider == "openai":  # the embedded server listens on the driver: its steps stay there
                llm = ChatClient(str(settings.base_url), str(settings.model),
                                 **client_options(settings, self.cache, max_concurrency=self.llm_concurrency))
            self.ctx = await self.opened.enter_async_context(open_run(self.project, self.pipeline, self.store, llm=llm))
        return self.ctx

    async def run_item(self, step_name: str, item: Record) -> tuple[list[ItemResult], list[tuple]]:
        ctx = await self.context()
        step = ctx.pipeline.step(step_name)
        mark = len(self.cache.new)
        results = await self.executor.run_one(step, item, ctx, step.process)
        new_replies = self.cache.new[mark:]
        del self.cache.new[mark:]  # returned with this item; the driver writes them
        return results, new_replies

    def node(self) -> str:
        import socket

        return f"{socket.gethostname()}:{os.getpid()}"


class RayExecutor(LocalExecutor):
    def __init__(self, address: str | None = None, progress: ProgressReporter | None = None,
                 budget: BudgetGuard | None = None, **kwargs: Any):
        super().__init__(progress, budget, **kwargs)
        self.address = address
        self.workers: list[Any] = []
        self.next_worker = 0
        self.started_ray = False

    async def run(self, steps: list[Step], ctx: RunContext) -> RunSummary:
        self.connect()
        try:
            self.workers = self.start_workers(steps, ctx)
            return await super().run(steps, ctx)
        finally:
            self.stop_workers()

    # ---- the cluster -----------------------------------------------------------------------------

    def connect(self) -> None:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if ray.is_initialized():
            return
        # no address: a new Ray here ("local": never one found running), unless RAY_ADDRESS names a cluster
        address = self.address or os.environ.get("RAY_ADDRESS") or "local"
        options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                       configure_logging=False)
        if not is_loopback_address(address):
            ray.init(address=address, **options)
        else:  # a local Ray, or a cluster on 127.0.0.1: nothing may bind or dial another address
            keep_ray_on_loopback()
            with ray_processes_stay_off_the_network() as worker_env:
                ray.init(address=address, _node_ip_address=LOOPBACK, runtime_env={"env_vars": worker_env},
                         **options)
        self.started_ray = True

    def start_workers(self, steps: list[Step], ctx: RunContext) -> list[Any]:
        import ray

        count = max(1, int(ray.cluster_resources().get("CPU", 1)))
        concurrency = max(1, math.ceil(ctx.llm_concurrency / count))
        remote_class = ray.remote(num_cpus=1, max_concurrency=concurrency + 8,
                                  scheduling_strategy="SPREAD", max_restarts=0)(StepWorkerImpl)
        workers = [remote_class.remote(str(ctx.project_dir), ctx.recipe.model_dump_json(), concurrency, ctx.pipeline)
                   for _ in range(count)]
        nodes = ray.get([worker.node.remote() for worker in workers])
        log.info("ray: %d workers (%d LLM requests in flight each) on %s", count, concurrency, ", ".join(nodes))
        return workers

    def stop_workers(self) -> None:
        import ray

        for worker in self.workers:
            ray.kill(worker)
        self.workers = []
        if self.started_ray:
            ray.shutdown()
            self.started_ray = False

    # ---- where an item runs ----------------------------------------------------------------------

    def runs_remotely(self, step: Step, ctx: RunContext) -> bool:
        if isinstance(step, (SourceStep, GlobalStep)) or step.runs_on_driver or not self.workers:
            return False
        if step.uses_llm:
            return ctx.recipe.llm.provider == "openai"
        return step.remote_ok

    def prepare_page(self, step: Step, records: list[Record], ctx: RunContext) -> None:
        if not self.runs_remotely(step, ctx):  # a worker's step works out its own inputs
            super().prepare_page(step, records, ctx)

    async def run_one(self, step: Step, item, ctx: RunContext, handler) -> list[ItemResult]:
        if not self.runs_remotely(step, ctx):
            return await super().run_one(step, item, ctx, handler)
        worker = self.workers[self.next_worker % len(self.workers)]
        self.next_worker += 1
        try:
            results, replies = await worker.run_item.remote(step.name, item)
        except RunStopped as exc:  # the worker's LLM is unusable: the whole run stops, as on the driver
            raise getattr(exc, "cause", exc) from None  # Ray wraps it in a RayTaskError that is also a RunStopped
        except Exception as exc:  # the worker or its node is gone: an error on this input, retried next run
            log.warning("ray worker failed on %s in %s: %s", item.id, step.name, exc)
            return [ItemResult(item_id=item.id, outcome=Status.ERROR, reason="ray_worker_lost", detail=str(exc)[:2000],
                               label=step.label(item), passes_input_on=step.passes_input_on)]
        for key, model, request, response, usage in replies:
            ctx.store.cache_put(key, model, request, response, usage)
        for result in results:
            if result.outcome == Status.ERROR:  # the worker logged it in its own process; the run log is here
                log.warning("error in %s on %s: %s: %s", step.name, result.label, result.reason,
                            (result.detail or "").splitlines()[0][:300] if result.detail else "")
        self.count_remote_usage(ctx, results)
        return results

    def count_remote_usage(self, ctx: RunContext, results: list[ItemResult]) -> None:
        """Remote requests count against the run's budget, which reads the driver's client stats."""
        if ctx.llm is None:
            return
        for result in results:
            ctx.llm.stats.requests += result.llm_requests
            ctx.llm.stats.cache_hits += result.cache_hits
            ctx.llm.stats.prompt_tokens += result.prompt_tokens
            ctx.llm.stats.completion_tokens += result.completion_tokens
