"""What `sftgen run --dry-run` answers: per step and in all, with what the figures assume (the JSON shape of
`--dry-run --json` is `RunEstimate.as_dict`, documented in the README)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

JSON_VERSION = 1


@dataclass
class StepEstimate:
    step: str
    uses_llm: bool
    pending_now: int
    inputs: float
    sampled: int
    outputs_per_input: float | None
    requests: float
    prompt_tokens: float
    completion_tokens: float
    cost_usd: float
    minutes: float
    guessed: bool = False
    """No preview input reached the step (an upstream step kept nothing): inputs come from the recipe's
    targets and requests per input from the other steps' preview, not from this step's own."""
    capped_by: str | None = None
    """The recipe setting that bounds this step below the plain extrapolation (a quota, a budget)."""
    outputs: float = 0.0
    note: str = ""
    timing: dict[str, Any] = field(default_factory=dict)
    """How `minutes` was reached: latency per request, requests in flight, CPU per input, which bound won."""

    def as_dict(self) -> dict[str, Any]:
        return rounded(asdict(self))


@dataclass
class RunEstimate:
    steps: list[StepEstimate]
    sample: int
    concurrency: int
    latency_s: float | None
    """Mean seconds per LLM request measured on the preview's real requests (None: none was sent)."""
    cpu_share: float = 1.0
    """The share of a core the process got while the preview ran (preview.core_share)."""
    distilled_s: float | None = None
    """Seconds the dry run spent distilling the embedder before its preview (once per machine), or None."""
    budget_stop: str | None = None
    """The budget that stops the run before its last step, as the estimate sees it."""
    assumptions: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, float]:
        keys = ("requests", "prompt_tokens", "completion_tokens", "cost_usd", "minutes")
        return {key: sum(getattr(step, key) for step in self.steps) for key in keys}

    def as_dict(self) -> dict[str, Any]:
        return rounded({
            "version": JSON_VERSION, "sample": self.sample, "concurrency": self.concurrency,
            "latency_s": self.latency_s, "cpu_share": self.cpu_share,
            "distilled_s": self.distilled_s, "budget_stop": self.budget_stop, "assumptions": self.assumptions,
            "steps": [asdict(step) for step in self.steps],
            "totals": {**self.totals(), "guessed_steps": [s.step for s in self.steps if s.guessed]},
        })

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: rounded(v) for key, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value
