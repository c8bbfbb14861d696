"""Guards on the filters (the LLM steps that pass their input on or drop it: chunk_filter, prompt_filter,
answer_eval). A filter that drops nearly everything it judges is more likely misjudging than right (a small
model that took a template's example for the rule dropped 30 of 30 prompts as incorrect_premise), and the run
would go on to make nothing: once it has judged `filters.stop_min_items` items in this run and dropped more
than `filters.stop_share` of them, the run stops with one line saying so. A filter named in
`filters.advisory` drops nothing: its verdict is recorded on the kept item (reason `advisory`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from sftgen.failures import RunStopped
from sftgen.recipe.model import Filters
from sftgen.records import Status
from sftgen.store import ItemResult

ADVISORY = "advisory"


class FilterStalled(RunStopped):
    exit_code = 3


@dataclass
class FilterTally:
    judged: int = 0
    dropped: int = 0
    reasons: Counter = field(default_factory=Counter)


class FilterGuard:
    def __init__(self, settings: Filters):
        self.settings = settings
        self.tallies: dict[str, FilterTally] = {}

    @staticmethod
    def judged_by_llm(result: ItemResult) -> bool:
        """A filter's verdict from the LLM (not a drop decided before asking, such as too_thin)."""
        return result.passes_input_on and result.llm_requests + result.cache_hits > 0 \
            and result.outcome in (Status.KEPT, Status.DROPPED)

    def advised(self, step: str, result: ItemResult) -> ItemResult:
        """The result as committed: an advisory filter's drop becomes a kept item carrying the verdict."""
        if step not in self.settings.advisory or result.outcome != Status.DROPPED or not self.judged_by_llm(result):
            return result
        return replace(result, outcome=Status.KEPT, reason=ADVISORY,
                       detail=f"would drop as {result.reason}: {result.detail or ''}".strip())

    def check(self, step: str, result: ItemResult) -> None:
        """Count a committed result; stop the run when the filter has dropped too much of what it judged."""
        if not self.judged_by_llm(result) or step in self.settings.advisory:
            return
        tally = self.tallies.get(step)
        if tally is None:
            tally = self.tallies[step] = FilterTally()
        tally.judged += 1
        if result.outcome == Status.DROPPED:
            tally.dropped += 1
            tally.reasons[result.reason or "?"] += 1
        if tally.judged >= self.settings.stop_min_items and tally.dropped > self.settings.stop_share * tally.judged:
            reasons = ", ".join(f"{count} {reason}" for reason, count in tally.reasons.most_common(3))
            raise FilterStalled(
                f"{step} dropped {tally.dropped} of the {tally.judged} items it judged in this run ({reasons}): "
                f"a filter that drops more than {self.settings.stop_share:.0%} is likely misjudging, so the run "
                f"stops. See the reasons with `sftgen status`; fix the template or recipe, or set "
                f"filters.advisory: [{step}] to keep its verdicts as notes")
