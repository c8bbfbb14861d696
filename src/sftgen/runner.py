"""`sftgen run`: open the project, start the LLM if a step needs one, run the pipeline, log the run."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass

from sftgen.budget import BudgetGuard
from sftgen.failures import RunStopped
from sftgen.executors.local import LocalExecutor, ProgressReporter, RunSummary
from sftgen.llm.client import ChatClient
from sftgen.llm.provider import llm_identity, open_llm
from sftgen.llm.templates import Templates
from sftgen.pipeline import build_pipeline, step_names
from sftgen.project import Project
from sftgen.steps.base import Step
from sftgen.steps.context import RunContext
from sftgen.store.disk_full import RunLogHandler


class UnknownStep(Exception):
    pass


@dataclass
class RunOptions:
    until: str | None = None
    limit: int | None = None
    retry_errors: bool = True
    executor: str = "local"  # or "ray"
    address: str | None = None  # the Ray cluster's address; None starts a local Ray


def make_executor(options: RunOptions, progress: ProgressReporter | None) -> LocalExecutor:
    if options.executor == "ray":
        from sftgen.executors.ray_executor import RayExecutor  # ray is an optional extra

        return RayExecutor(options.address, progress, retry_errors=options.retry_errors)
    if options.executor != "local":
        raise UnknownStep(f"--executor {options.executor}: expected local or ray")
    return LocalExecutor(progress, retry_errors=options.retry_errors)


def steps_until(steps: list[Step], until: str | None) -> list[Step]:
    if until is None:
        return steps
    names = step_names(steps)
    if until not in names:
        raise UnknownStep(f"--until {until}: no such step; the steps are: {', '.join(names)}")
    return steps[: names.index(until) + 1]


async def run_project(
    project: Project,
    options: RunOptions | None = None,
    progress: ProgressReporter | None = None,
    llm: ChatClient | None = None,
    steps: list[Step] | None = None,
) -> RunSummary:
    """Run or resume the pipeline. `llm` replaces the recipe's LLM and `steps` the recipe's pipeline
    (for tests, benchmarks and programs that embed sftgen)."""
    options = options or RunOptions()
    all_steps = steps if steps is not None else build_pipeline(project.recipe)
    steps = steps_until(all_steps, options.until)
    store = project.store()
    store.step_upstream = {step.name: list(step.upstream) for step in all_steps}
    run_id = store.start_run()
    handler = attach_run_log(project, run_id)
    try:
        async with llm_for(project, steps, store, llm) as client:
            if client is not None:  # a full disk stops the client too: no request is sent that cannot be stored
                store.on_disk_full = client.give_up
            ctx = RunContext(
                project_dir=project.dir,
                recipe=project.recipe,
                store=store,
                templates=Templates(project.dir),
                llm=client,
                llm_identity=llm_identity(project.recipe.llm, project.dir),
                limit=options.limit,
            )
            executor = make_executor(options, progress)
            guard = BudgetGuard(project.recipe.budget, project.recipe.llm, client)
            executor.budget_check, executor.wall_seconds_left = guard.check, guard.wall_seconds_left
            try:
                summary = await executor.run(steps, ctx)
            finally:
                await close_shared(ctx)
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


async def close_shared(ctx: RunContext) -> None:
    """Close what steps opened for the run and left in ctx.shared (search backends, fetchers): anything
    with an async `aclose`, alone or in a tuple."""
    for value in list(ctx.shared.values()):
        for part in value if isinstance(value, tuple) else (value,):
            closer = getattr(part, "aclose", None)
            if closer is not None and asyncio.iscoroutinefunction(closer):
                try:
                    await closer()
                except Exception:  # closing is best effort; the run's results are committed already
                    logging.getLogger("sftgen.run").debug("closing %r failed", part, exc_info=True)


@asynccontextmanager
async def llm_for(project: Project, steps: list[Step], store, given: ChatClient | None):
    if given is not None:
        if given.cache is None:
            given.cache = store
        yield given
    elif any(step.uses_llm for step in steps):
        async with open_llm(project.recipe.llm, project.dir, cache=store) as client:
            yield client
    else:
        with nullcontext(None) as nothing:
            yield nothing


def attach_run_log(project: Project, run_id: int) -> logging.Handler:
    log_dir = project.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = RunLogHandler(log_dir / f"run-{run_id}.log")  # raises DiskFull when the disk fills
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("sftgen")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler
