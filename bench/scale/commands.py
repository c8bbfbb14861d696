"""Running `sftgen ...` as a subprocess through the timed command line (bench/scale/timed_cli.py),
optionally under py-spy, and reading back what it measured about itself."""

from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMED_CLI = Path(__file__).resolve().with_name("timed_cli.py")


@dataclass
class CommandResult:
    args: list[str]
    wall_s: float
    returncode: int
    timings: dict[str, Any] = field(default_factory=dict)
    output: str = ""

    @property
    def cpu_s(self) -> float:
        return self.timings.get("cpu_s", float("nan"))

    @property
    def peak_rss_mb(self) -> float:
        return self.timings.get("peak_rss_mb", float("nan"))

    @property
    def write_bytes(self) -> int:
        return self.timings.get("io", {}).get("write_bytes", 0)

    @property
    def wchar(self) -> int:
        return self.timings.get("io", {}).get("wchar", 0)

    def phase(self, name: str) -> dict[str, float]:
        return self.timings.get("phases", {}).get(name, {"wall_s": 0.0, "cpu_s": 0.0})

    def check(self) -> CommandResult:
        if self.returncode != 0:
            tail = "\n".join(self.output.splitlines()[-15:])
            raise RuntimeError(f"sftgen {' '.join(self.args)} exited {self.returncode}:\n{tail}")
        return self


@dataclass
class Profiling:
    """py-spy settings for the runs that are profiled."""

    folder: Path
    rate: int = 100
    native: bool = False

    def command(self, output: Path) -> list[str]:
        py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if py_spy is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        # Line numbers kept: a caller's frame then says which line of it made the call (bench/scale/profile_steps.py
        # reports both the function and its hottest lines).
        command = [py_spy, "record", "--format", "speedscope", "--output", str(output), "--rate", str(self.rate)]
        # Not pausing the process for each sample keeps the profiled run's wall time close to an unprofiled
        # one; native stacks need the pause.
        return command + (["--native"] if self.native else ["--nonblocking"]) + ["--"]


def clean_environment() -> dict[str, str]:
    """This environment without the variables that would point sftgen at another LLM."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SFTGEN_", "OPENAI_"))}
    return {**environment, "OPENAI_API_KEY": "", "COLUMNS": "100", "PYTHONUNBUFFERED": "1"}


class PhaseTimeout(RuntimeError):
    """A phase of the bench took longer than --timeout: the bench stops rather than hang. `result` holds
    what the command measured up to then (a run's finished steps)."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(message)
        self.result = result


def run_sftgen(args: list[str], scratch: Path, label: str, profile: Profiling | None = None,
               profile_name: str | None = None, timeout_s: float | None = None) -> CommandResult:
    """`sftgen ARGS` in its own process (and session, so py-spy and the process it records are stopped
    together past `timeout_s`); its output goes to scratch/<label>.out."""
    timings_path = scratch / f"{label}.timings.json"
    output_path = scratch / f"{label}.out"
    timings_path.unlink(missing_ok=True)
    command = [sys.executable, str(TIMED_CLI), *args]
    if profile is not None:
        profile.folder.mkdir(parents=True, exist_ok=True)
        command = profile.command(profile.folder / (profile_name or f"{label}.speedscope.json")) + command
    environment = {**clean_environment(), "SCALE_BENCH_TIMINGS": str(timings_path)}
    started = time.perf_counter()
    with output_path.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment, text=True,
                                   start_new_session=True)
        timed_out = False
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            # SIGTERM first: sftgen stops as on Ctrl-C and the timed command line writes what it measured.
            timed_out = True
            os.killpg(process.pid, signal.SIGTERM)
            try:
                returncode = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                returncode = process.wait()
    wall = time.perf_counter() - started
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    result = CommandResult(args, wall, returncode, timings, output_path.read_text(errors="replace"))
    if timed_out:
        raise PhaseTimeout(f"sftgen {' '.join(args)} took over {timeout_s:.0f} s (--timeout); output in "
                           f"{output_path}", result)
    return result


def steps_summary(result: CommandResult) -> dict[str, dict[str, float]]:
    """Per step, over the executor's passes: wall and CPU seconds, items, LLM requests, cache hits, passes."""
    steps: dict[str, dict[str, float]] = {}
    for entry in result.timings.get("steps", []):
        step = steps.setdefault(entry["step"], {"wall_s": 0.0, "cpu_s": 0.0, "items": 0, "llm_requests": 0,
                                                "cache_hits": 0, "passes": 0, "busy_passes": 0})
        for key in ("wall_s", "cpu_s", "items", "llm_requests", "cache_hits"):
            step[key] += entry[key]
        step["passes"] += 1
        step["busy_passes"] += entry["items"] > 0
    return steps
