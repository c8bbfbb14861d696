"""The recipe's budget: requests, tokens, cost and wall time one run may spend before it stops cleanly."""

from __future__ import annotations

import time

from sftgen.llm.client import ChatClient
from sftgen.recipe.model import LLM, Budget


class BudgetGuard:
    def __init__(self, budget: Budget, llm_settings: LLM, client: ChatClient | None):
        self.budget = budget
        self.llm_settings = llm_settings
        self.client = client
        self.started = time.monotonic()

    def cost_usd(self) -> float:
        if self.client is None:
            return 0.0
        stats = self.client.stats
        return (stats.prompt_tokens * self.llm_settings.price_per_million_input
                + stats.completion_tokens * self.llm_settings.price_per_million_output) / 1e6

    def wall_seconds_left(self) -> float | None:
        """Seconds until budget.max_wall_minutes ends (0 once it has), or None without a wall budget. The
        executor waits on its items at most this long, so a request asleep in a retry cannot outlast it."""
        if self.budget.max_wall_minutes is None:
            return None
        return max(0.0, self.started + 60 * self.budget.max_wall_minutes - time.monotonic())

    def check(self) -> str | None:
        """None while there is budget left; otherwise what was spent."""
        budget = self.budget
        minutes = (time.monotonic() - self.started) / 60
        if budget.max_wall_minutes is not None and minutes >= budget.max_wall_minutes:
            return f"budget.max_wall_minutes ({budget.max_wall_minutes}) reached"
        if self.client is None:
            return None
        stats = self.client.stats
        if budget.max_llm_requests is not None and stats.requests >= budget.max_llm_requests:
            return f"budget.max_llm_requests ({budget.max_llm_requests}) reached"
        tokens = stats.prompt_tokens + stats.completion_tokens
        if budget.max_tokens is not None and tokens >= budget.max_tokens:
            return f"budget.max_tokens ({budget.max_tokens}) reached: {tokens} tokens"
        if budget.max_cost_usd is not None and self.cost_usd() >= budget.max_cost_usd:
            return f"budget.max_cost_usd ({budget.max_cost_usd}) reached: ${self.cost_usd():.4f}"
        return None
