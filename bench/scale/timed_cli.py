"""The sftgen command line, run in this process with timers around its parts; nothing of sftgen is changed.

    SCALE_BENCH_TIMINGS=out.json python bench/scale/timed_cli.py run DIR      # any sftgen command line

At exit it writes, as JSON: per step and pass of the executor the wall and process-CPU seconds, the items
it processed and the LLM requests the client sent meanwhile (steps run one after another, so the
process's CPU in a step's window is that step's); the same for phases (the whole executor, the closing
status and samples of `run`, the rows and the writing of `export`); the process's CPU, peak RSS and
/proc/self/io. For py-spy, the work of each step runs under a frame named `STEP_<name>` and each phase
under `PHASE_<name>` (a task factory wraps the coroutines of the tasks a step starts), so a profile's
samples can be told apart by step (bench/scale/profile_steps.py); so does the work a step hands to
`asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import resource
import sys
import time
import types
from pathlib import Path
from typing import Any

STARTED_WALL = time.time()
STARTED_CPU = time.process_time()


def renamed(function: types.FunctionType, name: str) -> types.FunctionType:
    """A copy of `function` whose frames are called `name` (what py-spy shows)."""
    code = function.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, function.__globals__, name, function.__defaults__, function.__closure__)


async def _in_step(coroutine):
    return await coroutine


def _in_phase(function, *args, **kwargs):
    return function(*args, **kwargs)


@functools.lru_cache(maxsize=None)
def step_marker(step: str, prefix: str = "STEP_"):
    return renamed(_in_step, f"{prefix}{step}")


@functools.lru_cache(maxsize=None)
def phase_marker(phase: str, prefix: str = "PHASE_"):
    return renamed(_in_phase, f"{prefix}{phase}")


class Timings:
    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.phases: dict[str, dict[str, float]] = {}
        self.current_step: str | None = None

    def add_phase(self, name: str, wall: float, cpu: float) -> None:
        phase = self.phases.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
        phase["wall_s"] += wall
        phase["cpu_s"] += cpu
        phase["calls"] += 1

    def as_dict(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "steps": self.steps, "phases": self.phases,
            "wall_s": time.time() - STARTED_WALL,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "cpu_children_s": children.ru_utime + children.ru_stime,
            "cpu_before_main_s": STARTED_CPU,
            "peak_rss_mb": peak_rss_mb(),
            "io": proc_io(),
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=1))


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not `ru_maxrss`: Linux carries it over fork and exec, so a command the
    bench starts would report the bench's peak whenever that is larger (VmHWM belongs to the process's own
    memory map, made new by exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def proc_io() -> dict[str, int]:
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return {}
    return {key: int(value) for key, value in (line.split(": ") for line in lines)}


def timed_phase(timings: Timings, name: str, function):
    marker = phase_marker(name)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return marker(function, *args, **kwargs)
        finally:
            timings.add_phase(name, time.perf_counter() - wall, time.process_time() - cpu)

    return wrapper


def timed_rows(timings: Timings, name: str, rows):
    """The rows as they stream (never gathered: the command's peak RSS stays its own), the time spent making
    them added up over every row as one phase."""
    wall = cpu = 0.0
    iterator = iter(rows)
    try:
        while True:
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            try:
                row = next(iterator)
            except StopIteration:
                return
            finally:
                wall += time.perf_counter() - started_wall
                cpu += time.process_time() - started_cpu
            yield row
    finally:
        timings.add_phase(name, wall, cpu)


def install(timings: Timings, command: str) -> None:
    """Wrap what `command` runs with timers, importing nothing that command would not import itself."""
    import sftgen.cli

    sftgen.cli.show_status = timed_phase(timings, "show_status", sftgen.cli.show_status)
    if command == "run":
        install_run(timings)
    elif command == "export":
        import sftgen.export.rows
        import sftgen.export.writers

        export_rows = sftgen.export.rows.export_rows
        sftgen.export.rows.export_rows = lambda *a, **k: timed_rows(timings, "export_rows", export_rows(*a, **k))
        sftgen.export.writers.write_rows = timed_phase(timings, "write_rows", sftgen.export.writers.write_rows)


def install_run(timings: Timings) -> None:
    """The executor's steps (with the LLM requests each sent) and the closing of `run`."""
    import sftgen.samples_view
    from sftgen.core.services import RunServices
    from sftgen.run.executors.local import LocalExecutor

    run_step, run = LocalExecutor.run_step, LocalExecutor.run
    passes: dict[str, int] = {}

    async def timed_run_step(self, step, ctx):
        stats = getattr(ctx.llm, "stats", None)
        before = (stats.requests, stats.cache_hits) if stats else (0, 0)
        wall, cpu = time.perf_counter(), time.process_time()
        timings.current_step = step.name
        try:
            done = await step_marker(step.name)(run_step(self, step, ctx))
        finally:
            timings.current_step = None
        passes[step.name] = passes.get(step.name, 0) + 1
        after = (stats.requests, stats.cache_hits) if stats else (0, 0)
        timings.steps.append({
            "step": step.name, "pass": passes[step.name], "items": done,
            "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "llm_requests": after[0] - before[0], "cache_hits": after[1] - before[1],
        })
        return done

    async def timed_run(self, steps, ctx):
        loop = asyncio.get_running_loop()
        loop.set_task_factory(step_task_factory(timings))
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return await step_marker("executor", prefix="PHASE_")(run(self, steps, ctx))
        finally:
            loop.set_task_factory(None)
            timings.add_phase("executor", time.perf_counter() - wall, time.process_time() - cpu)

    LocalExecutor.run_step, LocalExecutor.run = timed_run_step, timed_run
    close_services = RunServices.aclose

    async def timed_close_services(self):  # the run's fetcher, search backends... (phase name as before)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return await step_marker("close_shared", prefix="PHASE_")(close_services(self))
        finally:
            timings.add_phase("close_shared", time.perf_counter() - wall, time.process_time() - cpu)

    RunServices.aclose = timed_close_services
    to_thread = asyncio.to_thread

    async def marked_to_thread(function, /, *args, **kwargs):
        # The thread pool's work (retrieval ranking, BM25 search, page reading) under its step's marker too.
        if timings.current_step is not None:
            function = functools.partial(phase_marker(timings.current_step, prefix="STEP_"), function)
        return await to_thread(function, *args, **kwargs)

    asyncio.to_thread = marked_to_thread
    sftgen.samples_view.print_samples = timed_phase(timings, "print_samples", sftgen.samples_view.print_samples)


def step_task_factory(timings: Timings):
    """Tasks started while a step runs (its workers, its feeder, the HTTP client's) run under its marker."""

    def factory(loop, coroutine, context=None):
        if timings.current_step is not None and asyncio.iscoroutine(coroutine):
            coroutine = step_marker(timings.current_step)(coroutine)
        if context is None:
            return asyncio.Task(coroutine, loop=loop)
        return asyncio.Task(coroutine, loop=loop, context=context)

    return factory


def main() -> None:
    timings = Timings()
    out = os.environ.get("SCALE_BENCH_TIMINGS")
    if out:
        atexit.register(timings.write, Path(out))
    install(timings, sys.argv[1] if len(sys.argv) > 1 else "")
    from sftgen.cli import app

    sys.argv = ["sftgen", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
