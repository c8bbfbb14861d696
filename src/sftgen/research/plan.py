"""How many pages each subdomain still needs in this pass of the executor (`QuotaPlan`): from `quota_status`
(deficit minus prompts on their way) divided by `research.prompts_per_page`; pages fetched in this pass
count against it, so one pass does not over-fetch before the new pages have been chunked, profiled and
turned into prompts. It is made again when any other step has emitted something since (the next pass).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sftgen.core.context import RunContext
from sftgen.quotas.status import quota_status

@dataclass
class QuotaPlan:
    token: int
    pages_needed: dict[str, int | None]
    """None: no quotas (prompts.target_total is null); research goes on until the budget ends."""
    pages_planned: dict[str, int] = field(default_factory=dict)

    def wanted(self, subdomain: str) -> int | None:
        """Pages still wanted for the subdomain in this pass (None: no limit)."""
        needed = self.pages_needed.get(subdomain, 0)
        if needed is None:
            return None
        return max(0, needed - self.pages_planned.get(subdomain, 0))

    def charge(self, subdomain: str, pages: int = 1) -> None:
        self.pages_planned[subdomain] = self.pages_planned.get(subdomain, 0) + pages


def quota_plan(ctx: RunContext, researcher: str) -> QuotaPlan:
    """The pass's plan; `researcher` is the research step's name (its own emits do not make a new pass)."""
    token = ctx.store.emits.last_seq(leaving_out=[researcher])
    plan = ctx.services.state(QuotaPlan, lambda: new_plan(ctx, token))
    if plan.token != token:
        ctx.services.forget(QuotaPlan)
        plan = ctx.services.state(QuotaPlan, lambda: new_plan(ctx, token))
    return plan


def new_plan(ctx: RunContext, token: int) -> QuotaPlan:
    per_page = ctx.recipe.research.prompts_per_page
    needed: dict[str, int | None] = {}
    for row in quota_status(ctx.store, ctx.recipe, ctx.pipeline):
        if row["deficit"] is None:
            needed[row["subdomain"]] = None
        else:
            missing = max(0, row["deficit"] - row.get("in_progress", 0))
            needed[row["subdomain"]] = math.ceil(missing / per_page)
    return QuotaPlan(token, needed)

