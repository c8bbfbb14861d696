"""Minutes a step will take, from what the preview measured rather than a fixed guess.

An LLM step is a closed queue: `in_flight` requests (llm.max_concurrency) each wait `latency` on the
server, all at once, and between two requests their input's CPU runs on the one event loop, one at a
time. Its throughput comes from mean value analysis of that queue (`loop_throughput`): as long as the
loop is idle most of the time the requests set the pace (requests * latency / in_flight) and the CPU
overlaps them; as the loop fills up, replies wait for it, and once the CPU per request exceeds
latency / in_flight the CPU sets the pace. The step then adds the last input's own chain of requests
(requests per input * latency: the wave still in flight when the others are done) and what it does once
(loading a model). On the fake server at 0.2 s and 64 in flight this is within 10% of every LLM step's
wall time at 2,000 prompts, where adding the CPU to the requests' time was 1.2-1.5x too much.

A step without LLM is bound by its CPU, or by its inputs' wall time (fetching, searching) spread over its
concurrency. CPU seconds are stretched by the share of a core the process got during the preview.
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


def loop_throughput(latency_s: float, cpu_per_request_s: float, in_flight: int) -> float:
    """Requests per second of the closed queue (exact mean value analysis for `in_flight` requests, each
    `latency_s` on the server, then `cpu_per_request_s` on the single event loop)."""
    if cpu_per_request_s <= 0:
        return in_flight / latency_s if latency_s > 0 else float("inf")
    queued = 0.0  # requests at the loop, waiting or being served
    throughput = 0.0
    for population in range(1, max(1, in_flight) + 1):
        at_loop = cpu_per_request_s * (1 + queued)
        throughput = population / (latency_s + at_loop)
        queued = throughput * at_loop
    return throughput


def step_seconds(timing: StepTiming, uses_llm: bool, inputs: float, requests: float,
                 run_latency_s: float | None, cpu_share: float = 1.0) -> tuple[float, dict[str, Any]]:
    """(seconds, how): the estimate and the figures it came from. `cpu_share`: the share of a core the
    process got while the preview computed (below 1 on a machine busy with other work), which stretches
    its CPU seconds into wall seconds."""
    share = max(0.05, cpu_share)
    per_input_cpu = timing.cpu_per_input_s / share
    fixed_s = (timing.fixed_cpu_s if inputs > 0 else 0.0) / share
    cpu_s = inputs * per_input_cpu + fixed_s
    how: dict[str, Any] = {"cpu_per_input_ms": 1000 * timing.cpu_per_input_s, "fixed_cpu_s": timing.fixed_cpu_s,
                           "cpu_s": cpu_s, "concurrency": timing.concurrency}
    if uses_llm:
        latency = timing.latency_s if timing.latency_s is not None else run_latency_s
        if latency is None or requests <= 0:
            how.update(bound="cpu", latency_s=latency, llm_s=0.0)
            return cpu_s, how
        in_flight = max(1, timing.concurrency)
        llm_s = requests * latency / in_flight
        queue_s = requests / loop_throughput(latency, inputs * per_input_cpu / requests, in_flight)
        tail_s = (requests / inputs if inputs else 0.0) * latency
        how.update(latency_s=latency, llm_s=llm_s, queue_s=queue_s, tail_s=tail_s,
                   bound="llm" if llm_s >= cpu_s - fixed_s else "cpu")
        return queue_s + tail_s + fixed_s, how
    wall_s = inputs * timing.seconds_per_input / max(1, timing.concurrency)
    how.update(wall_s=wall_s, bound="cpu" if cpu_s >= wall_s else "wall")
    return max(cpu_s, wall_s), how
