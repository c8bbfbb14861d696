"""How an LLM request fails: for one item (LLMError, recorded on it) or for the whole run (LLMUnusable)."""

from __future__ import annotations

from sftgen.failures import RunStopped
from sftgen.llm.reply import LLMReply


class LLMError(Exception):
    """A request that failed for good. `reason` is short and stable (a drop/error reason); `detail` says more;
    `spent` is what the failed request cost (requests sent, tokens), so the funnel counts it."""

    def __init__(self, reason: str, detail: str, raw_replies: list[str] | None = None,
                 spent: LLMReply | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.raw_replies = raw_replies or []
        self.spent = spent


class LLMUnusable(RunStopped):
    """The LLM cannot serve this run (unreachable, refusing every request, its server died): the run stops,
    no item is marked as an error because of it."""
