"""`sftgen run`: open the project, start the LLM if a step needs one, run the pipeline, log the run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sftgen.run.budget import BudgetGuard
from sftgen.run.collections import fewer_collections
from sftgen.failures import RunStopped
from sftgen.run.executors.local import LocalExecutor, ProgressReporter, RunSummary
from sftgen.llm.client import ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.open import open_run
from sftgen.run.settled import SettledSteps
from sftgen.core.graph import Pipeline
from sftgen.core.step import Step
from sftgen.store.disk_full import RunLogHandler


@dataclass
class RunOptions:
    until: str | None = None
    limit: int | None = None
    retry_errors: bool = True
    executor: str = "local"  # or "ray"
    address: str | None = None  # the Ray cluster's address; None starts a local Ray


class UnknownExecutor(ValueError):
    pass


def make_executor(options: RunOptions, progress: ProgressReporter | None, budget: BudgetGuard) -> LocalExecutor:
    if options.executor == "ray":
        from sftgen.run.executors.ray import RayExecutor  # imports ray (an optional extra) when it starts

        return RayExecutor(options.address, progress, budget, retry_errors=options.retry_errors)
    if options.executor != "local":
        raise UnknownExecutor(f"--executor {options.executor}: expected local or ray")
    return LocalExecutor(progress, budget, retry_errors=options.retry_errors)


def steps_to_run(pipeline: Pipeline, options: RunOptions, only: Sequence[Step] | None) -> list[Step]:
    """The pipeline's steps up to `--until`; with `only`, just those (by name) of them."""
    steps = pipeline.until(options.until)
    if only is None:
        return steps
    wanted = {pipeline.step(step.name).name for step in only}  # an unknown name is an UnknownStep
    return [step for step in steps if step.name in wanted]


async def run_project(
    project: Project,
    options: RunOptions | None = None,
    progress: ProgressReporter | None = None,
    llm: ChatClient | None = None,
    pipeline: Pipeline | Sequence[Step] | None = None,
    steps: Sequence[Step] | None = None,
) -> RunSummary:
    """Run or resume the pipeline. `llm` replaces the recipe's LLM, `pipeline` the recipe's pipeline (a
    Pipeline or a list of steps), and `steps` runs only those of its steps (for tests, benchmarks and
    programs that embed sftgen)."""
    options = options or RunOptions()
    if pipeline is None:
        pipeline = standard_pipeline(project.recipe)
    elif not isinstance(pipeline, Pipeline):
        pipeline = Pipeline(pipeline)
    steps = steps_to_run(pipeline, options, steps)
    store = project.store(graph=pipeline.upstream_map())
    run_id = store.start_run()
    handler = attach_run_log(project, run_id)
    try:
        start_llm = any(step.uses_llm for step in steps)
        async with open_run(project, pipeline, store, llm=llm, start_llm=start_llm, limit=options.limit) as ctx:
            budget = BudgetGuard(project.recipe.budget, project.recipe.llm, ctx.llm)
            executor = make_executor(options, progress, budget)
            executor.settled = SettledSteps.read(project.state_dir)
            with fewer_collections():
                summary = await executor.run(steps, ctx)
        store.finish_run(run_id, "stopped" if summary.stopped_by else "finished", summary.stopped_by or "")
        return summary
    except RunStopped as exc:
        record_finish(store, run_id, "failed", exc.message)
        raise
    except (KeyboardInterrupt, asyncio.CancelledError):
        store.finish_run(run_id, "interrupted", "stopped by Ctrl-C or SIGTERM; `sftgen run` resumes")
        raise
    except BaseException as exc:
        store.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        logging.getLogger("sftgen").removeHandler(handler)
        handler.close()
        store.close()


def record_finish(store, run_id: int, outcome: str, message: str) -> None:
    """Best effort: when the disk is full, the run's own row cannot be written either."""
    try:
        store.finish_run(run_id, outcome, message)
    except Exception:
        logging.getLogger("sftgen.run").warning("could not record the end of run %d: %s", run_id, message)


def attach_run_log(project: Project, run_id: int) -> logging.Handler:
    log_dir = project.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = RunLogHandler(log_dir / f"run-{run_id}.log")  # raises DiskFull when the disk fills
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("sftgen")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler
