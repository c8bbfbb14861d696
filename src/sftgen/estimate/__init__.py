"""`sftgen run --dry-run`: what a run would cost, per step, before any token is spent on the project.

preview.py runs a few inputs per step on a scratch copy of the store and measures them (measure.py);
extrapolate.py scales that to the whole run under the recipe's quotas, research budgets and `budget:`
(budget_cap.py), with minutes from the measured latency, concurrency and CPU (timing.py).
"""

from __future__ import annotations

from sftgen.core.graph import Pipeline
from sftgen.core.step import Step
from sftgen.estimate.extrapolate import extrapolate_run
from sftgen.estimate.preview import SCRATCH_PREFIX, preview
from sftgen.estimate.result import JSON_VERSION, RunEstimate, StepEstimate
from sftgen.project import Project

__all__ = ["JSON_VERSION", "RunEstimate", "SCRATCH_PREFIX", "StepEstimate", "estimate_run"]


async def estimate_run(project: Project, pipeline: Pipeline, steps: list[Step], sample: int,
                       llm=None) -> RunEstimate:
    """Preview `sample` inputs per step on a scratch store and extrapolate to the whole run."""
    before, measurements = await preview(project, pipeline, steps, sample, llm=llm)
    return extrapolate_run(project.recipe, pipeline, steps, before, measurements, sample)
