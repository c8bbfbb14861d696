"""From the preview to the whole run, following the recipe:

    inputs(step)  = pending now in the project + sum of outputs(upstream) expected from this run
    outputs(step) = inputs(step) * outputs per input seen in the preview

bounded by what the recipe lets the run make: the steps that make prompts (generate, broaden) stop at the
quotas times the overshoot (`prompts.target_total * prompts.overshoot`, less the prompts alive already);
research stops at its query and page budgets; the whole run stops where `budget:` is spent. A step no
preview input reached because an upstream step's preview kept nothing is estimated from the targets (the
prompts still to make, or to answer) with one request per input and the preview's tokens per request,
and marked `guessed`. Costs use llm.price_per_million_input / _output; cache hits count as free. One pass
over the steps: what research pages add in later passes is not in the estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sftgen.core.graph import Pipeline
from sftgen.core.step import Step
from sftgen.estimate.budget_cap import cap_by_budget
from sftgen.estimate.measure import Measurement
from sftgen.estimate.preview import Before
from sftgen.estimate.result import RunEstimate, StepEstimate
from sftgen.estimate.timing import StepTiming, step_seconds
from sftgen.quotas.targets import planned_counts
from sftgen.recipe import Recipe

QUOTA_CAP = "prompts.target_total x prompts.overshoot"


@dataclass
class PerInput:
    """What one input costs and yields."""

    served_share: float
    outputs: float
    requests: float
    prompt_tokens: float
    completion_tokens: float


@dataclass
class Run:
    """What the extrapolation carries from step to step."""

    recipe: Recipe
    pipeline: Pipeline
    before: Before
    latency_s: float | None
    tokens_per_request: tuple[float, float]
    quota_room: float | None
    target_left: float | None
    cpu_share: float = 1.0


def extrapolate_run(recipe: Recipe, pipeline: Pipeline, steps: list[Step], before: Before,
                    measurements: list[Measurement], sample: int) -> RunEstimate:
    run = Run(recipe, pipeline, before, pooled_latency(measurements), pooled_tokens(measurements),
              *quota_room(recipe, before), before.cpu_share)
    outputs: dict[str, float] = {}
    starved: set[str] = set()  # steps whose preview kept nothing, or that were estimated by a guess
    estimates = []
    for step, measured in zip(steps, measurements):
        estimate = step_estimate(step, measured, run, outputs, starved)
        outputs[step.name] = estimate.outputs
        if estimate.guessed or (measured.sampled and estimate.outputs_per_input == 0):
            starved.add(step.name)
        estimates.append(estimate)
    result = RunEstimate(estimates, sample, recipe.llm.max_concurrency, run.latency_s, run.cpu_share,
                         before.distilled_s)
    result.budget_stop = cap_by_budget(estimates, recipe.budget)
    result.assumptions = assumptions(run, measurements, result)
    return result


def step_estimate(step: Step, measured: Measurement, run: Run, outputs: dict[str, float],
                  starved: set[str]) -> StepEstimate:
    now = run.before.pending[step.name]
    inputs = now + sum(outputs.get(name, 0.0) for name in step.upstream)
    guessed = measured.sampled == 0 and (inputs > 0 or any(name in starved for name in step.upstream))
    if measured.sampled == 0 and not guessed:
        note = "nothing to preview" if inputs == 0 else "no preview input reached this step; estimated 0"
        return StepEstimate(step.name, step.uses_llm, now, inputs, 0, None, 0, 0, 0, 0, 0, note=note)
    note, capped_by = "", None
    if guessed:
        if inputs == 0:
            inputs = guessed_inputs(step, run, outputs, starved)
        per = PerInput(1.0, 1.0, 1.0 if step.uses_llm else 0.0, *run.tokens_per_request)
        if not step.uses_llm:
            per.prompt_tokens = per.completion_tokens = 0.0
        note = "guessed: no preview input reached it"
    else:
        per = research_per_input(measured) if step.name == "research" else \
            per_input(measured, quota_bound=step.name in makers(run))
    served = inputs * per.served_share
    if step.name in makers(run) and run.quota_room is not None:
        served, capped_by = quota_capped(step, served, per, run, outputs)
    if step.name == "research" and run.recipe.research.enabled:
        served, capped_by = research_capped(served, per, run, measured.workers) or (served, capped_by)
    requests = served * per.requests
    prompt, completion = served * per.prompt_tokens, served * per.completion_tokens
    made = served * per.outputs
    if step.name == "research" and made > research_room(run)[1]:
        made, capped_by = float(research_room(run)[1]), capped_by or "research.max_pages"
    if failed := measured.errors():
        reasons = ", ".join(f"{reason} {count}" for reason, count in failed.most_common(3))
        note = f"{note}; " if note else ""
        note += f"{sum(failed.values())} preview inputs failed ({reasons}), left out"
    llm = run.recipe.llm
    cost = (prompt * llm.price_per_million_input + completion * llm.price_per_million_output) / 1e6
    timing = StepTiming(measured.latency_s(), measured.cpu_per_input(), measured.fixed_cpu_s(),
                        measured.seconds_per_input(), measured.concurrency)
    seconds, how = step_seconds(timing, step.uses_llm, inputs, requests, run.latency_s, run.cpu_share)
    return StepEstimate(step.name, step.uses_llm, now, inputs, measured.sampled,
                        made / inputs if inputs else per.outputs, requests, prompt, completion, cost,
                        seconds / 60, guessed=guessed, capped_by=capped_by, outputs=made, note=note, timing=how)


def per_input(measured: Measurement, quota_bound: bool) -> PerInput:
    """Per input the step worked on; for a step the quotas bound, declined inputs (quota_full) cost
    nothing and yield nothing, and the quota cap decides how many are served."""
    rows = measured.served_rows() if quota_bound else measured.rows
    share = measured.served_share() if quota_bound else 1.0
    if not rows:
        return PerInput(share, 0.0, 0.0, 0.0, 0.0)
    return PerInput(share, measured.per_input("n_outputs", rows), measured.per_input("llm_requests", rows),
                    measured.per_input("prompt_tokens", rows), measured.per_input("completion_tokens", rows))


def makers(run: Run) -> list[str]:
    return [step.name for step in run.pipeline.makers("prompt")]


def quota_capped(step: Step, served: float, per: PerInput, run: Run,
                 outputs: dict[str, float]) -> tuple[float, str | None]:
    """Inputs served under the quotas: what this step and the makers after it make from each input (its
    seeds and their variants, reserved together by the ledger) fits in the room the quotas leave."""
    names = makers(run)
    made_before = sum(outputs.get(name, 0.0) for name in names[: names.index(step.name)])
    room = max(0.0, run.quota_room - made_before)
    later = names[names.index(step.name) + 1:]
    factor = 1.0 + (run.recipe.prompts.variants_per_prompt if later else 0.0)
    per_input_made = per.outputs * factor
    if per_input_made <= 0 or served * per_input_made <= room:
        return served, None
    return room / per_input_made, QUOTA_CAP


def research_room(run: Run) -> tuple[int, int]:
    research = run.recipe.research
    return (max(0, research.max_queries - run.before.research_queries),
            max(0, research.max_pages - run.before.research_pages))


def research_per_input(measured: Measurement) -> PerInput:
    """Per profile researched. The preview spends the run's query budget too, so the profiles it declined
    for a spent budget count as profiles the run would research (research_capped bounds them)."""
    asked = [row for row in measured.rows if row["llm_requests"] or row["cache_hits"]]
    wanting = [row for row in measured.rows if row in asked or row["reason"] == "research_budget_spent"]
    if not asked:
        return PerInput(0.0, 0.0, 0.0, 0.0, 0.0)
    return PerInput(len(wanting) / measured.sampled, measured.per_input("n_outputs", asked),
                    measured.per_input("llm_requests", asked), measured.per_input("prompt_tokens", asked),
                    measured.per_input("completion_tokens", asked))


def research_capped(served: float, per: PerInput, run: Run, workers: int) -> tuple[float, str] | None:
    """Profiles researched stop where the query budget does: the profiles its queries are enough for, and
    at most the ones already asking in the step's workers when it runs out (their queries are charged when
    the reply comes). Pages stop at research.max_pages (the step's outputs)."""
    queries_left, _ = research_room(run)
    profiles = math.ceil(queries_left / run.recipe.research.queries_per_profile) + (workers if queries_left else 0)
    if served <= profiles:
        return None
    return float(profiles), "research.max_queries"


def guessed_inputs(step: Step, run: Run, outputs: dict[str, float], starved: set[str]) -> float:
    """Inputs of a step the preview left without any: when it works on prompts, the prompts the quotas still
    want kept (what the overshoot is there to reach); else as if its upstream kept everything."""
    if step.consumes == "prompt" and run.target_left is not None:
        return run.target_left
    return sum(outputs.get(name, 0.0) for name in step.upstream if name not in starved) or \
        sum(run.before.pending.get(name, 0) for name in step.upstream)


def quota_room(recipe: Recipe, before: Before) -> tuple[float | None, float | None]:
    """(prompts the makers may still make, prompts still to keep): None without quotas."""
    planned = planned_counts(recipe)
    if planned is None:
        return None, None
    room = sum(max(0, count - before.alive_prompts.get(name, 0)) for name, count in planned.items())
    return float(room), float(max(0, recipe.prompts.target_total - before.kept_prompts))


def pooled_latency(measurements: list[Measurement]) -> float | None:
    """Seconds per request over the LLM steps that asked, weighted by their requests."""
    pairs = [(m.latency_s(), m.requests) for m in measurements if m.uses_llm and m.latency_s() is not None]
    requests = sum(count for _, count in pairs)
    return sum(latency * count for latency, count in pairs) / requests if requests else None


def pooled_tokens(measurements: list[Measurement]) -> tuple[float, float]:
    rows = [row for m in measurements if m.uses_llm for row in m.rows]
    requests = sum(row["llm_requests"] for row in rows)
    if not requests:
        return 0.0, 0.0
    return (sum(row["prompt_tokens"] for row in rows) / requests,
            sum(row["completion_tokens"] for row in rows) / requests)


def assumptions(run: Run, measurements: list[Measurement], result: RunEstimate) -> list[str]:
    requests = sum(m.requests for m in measurements if m.uses_llm)
    lines = []
    if run.latency_s is None:
        lines.append("no LLM request was sent in the preview (no LLM step, or all answered from the cache): "
                     "LLM time is not in the minutes")
    else:
        lines.append(f"{run.latency_s:.2f} s per LLM request, measured on the preview's {requests} requests")
    lines.append(f"{result.concurrency} requests in flight (llm.max_concurrency); an LLM step's CPU runs on one "
                 "event loop while its other requests wait on the server: it overlaps them until the loop is "
                 "busy (then the CPU sets the pace), plus the last input's own requests")
    lines.append("CPU per input measured on each step's preview (the slope from a round of 1 input to one of the "
                 "rest); what a step does once per run (loading a model) counted once; a step whose cost per "
                 "input grows with the project's size is underestimated; the run's start-up is not counted")
    if run.before.distilled_s is not None:
        lines.append(f"the embedder was distilled for this machine before the preview ({run.before.distilled_s:.0f} s, "
                     "once per machine): not in the minutes, the run will find it made")
    lines.append(f"this process got {run.cpu_share:.0%} of a core while the preview computed (the machine as "
                 "loaded now): CPU seconds stretched by that")
    recipe = run.recipe
    if run.quota_room is not None:
        lines.append(f"quotas: prompts.target_total {recipe.prompts.target_total} x overshoot "
                     f"{recipe.prompts.overshoot}: {run.quota_room:.0f} prompts still to make, "
                     f"{run.target_left:.0f} still to keep")
    else:
        lines.append("no quotas (prompts.target_total null): every profile gets prompts.per_profile prompts")
    if any(step.guessed for step in result.steps):
        lines.append("guessed steps: no preview input reached them; inputs from the quotas, 1 request per input "
                     "for LLM steps and the preview's mean tokens per request")
    if result.budget_stop:
        lines.append(f"{result.budget_stop}: the run stops there; `sftgen run` resumes with a new budget")
    if recipe.research.enabled:
        lines.append("one pass over the steps: what research pages bring back to chunking is not included")
    return lines
