"""Minutes a step will take, from what the preview measured rather than a fixed guess.

An LLM step takes the time of its requests plus its CPU:

    requests:  requests * latency / in_flight      (in_flight: the step's request slots, llm.max_concurrency)
               but never less than one input's own chain of requests (requests per input * latency)
    CPU:       inputs * CPU per input + what the step does once (loading a model, building an index)

added, not overlapped: the run has one event loop, and while it works on an item's CPU no reply is read
and no request sent (on the fake server at 0.2 s and 64 in flight the sum is within 1.5x of each step's
wall time, the larger of the two is not). Latency is the preview's measured seconds per request, CPU per
input the preview's process CPU per input (measure.py). A step without LLM is bound by its CPU, or by its
inputs' wall time (fetching, searching) spread over its concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class StepTiming:
    latency_s: float | None
    """Seconds per request measured for this step (None: it sent none; the run-wide figure is used)."""
    cpu_per_input_s: float
    fixed_cpu_s: float
    seconds_per_input: float
    """Wall seconds per input in the preview (what a step without LLM waits on: I/O, its own CPU)."""
    concurrency: int


def step_seconds(timing: StepTiming, uses_llm: bool, inputs: float, requests: float,
                 run_latency_s: float | None, cpu_share: float = 1.0) -> tuple[float, dict[str, Any]]:
    """(seconds, how): the estimate and the figures it came from. `cpu_share`: the share of a core the
    process got while the preview computed (below 1 on a machine busy with other work), which stretches
    its CPU seconds into wall seconds."""
    cpu_s = (inputs * timing.cpu_per_input_s + (timing.fixed_cpu_s if inputs > 0 else 0.0)) / max(0.05, cpu_share)
    how: dict[str, Any] = {"cpu_per_input_ms": 1000 * timing.cpu_per_input_s, "fixed_cpu_s": timing.fixed_cpu_s,
                           "cpu_s": cpu_s, "concurrency": timing.concurrency}
    if uses_llm:
        latency = timing.latency_s if timing.latency_s is not None else run_latency_s
        if latency is None or requests <= 0:
            how.update(bound="cpu", latency_s=latency, llm_s=0.0)
            return cpu_s, how
        per_input = requests / inputs if inputs else 0.0
        llm_s = max(requests * latency / max(1, timing.concurrency), per_input * latency)
        how.update(latency_s=latency, llm_s=llm_s, bound="llm" if llm_s >= cpu_s else "cpu")
        return llm_s + cpu_s, how
    wall_s = inputs * timing.seconds_per_input / max(1, timing.concurrency)
    how.update(wall_s=wall_s, bound="cpu" if cpu_s >= wall_s else "wall")
    return max(cpu_s, wall_s), how
