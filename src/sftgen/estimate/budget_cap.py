"""The recipe's `budget:` in the estimate: the run stops in the step where a budget is spent (the executor
checks it before each input), so that step is cut to what is left and the steps after it do nothing in
this run (`sftgen run` resumes with a new budget)."""

from __future__ import annotations

from sftgen.estimate.result import StepEstimate
from sftgen.recipe.model import Budget


def cap_by_budget(estimates: list[StepEstimate], budget: Budget) -> str | None:
    """Cut the estimates where the first budget runs out; the budget's name, or None when none does."""
    spent = {"requests": 0.0, "tokens": 0.0, "cost": 0.0, "minutes": 0.0}
    stop: str | None = None
    for estimate in estimates:
        if stop is not None:
            cut(estimate, 0.0, f"not reached: {stop} stops the run before")
            continue
        use = {"requests": estimate.requests, "tokens": estimate.prompt_tokens + estimate.completion_tokens,
               "cost": estimate.cost_usd, "minutes": estimate.minutes}
        share, name = 1.0, None
        for key, setting, limit in limits(budget):
            if use[key] > 0 and spent[key] + use[key] > limit:
                left = max(0.0, limit - spent[key]) / use[key]
                if left < share:
                    share, name = left, setting
        for key in spent:
            spent[key] += use[key] * share
        if name is not None:
            stop = f"budget.{name}"
            cut(estimate, share, f"{stop} is spent in this step")
            estimate.capped_by = stop
    return stop


def limits(budget: Budget) -> list[tuple[str, str, float]]:
    pairs = [("requests", "max_llm_requests", budget.max_llm_requests), ("tokens", "max_tokens", budget.max_tokens),
             ("cost", "max_cost_usd", budget.max_cost_usd), ("minutes", "max_wall_minutes", budget.max_wall_minutes)]
    return [(key, name, float(limit)) for key, name, limit in pairs if limit is not None]


def cut(estimate: StepEstimate, share: float, note: str) -> None:
    for name in ("requests", "prompt_tokens", "completion_tokens", "cost_usd", "minutes", "outputs"):
        setattr(estimate, name, getattr(estimate, name) * share)
    estimate.note = f"{estimate.note}; {note}" if estimate.note else note
