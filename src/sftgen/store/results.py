"""What one step did with one input, as the store commits it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sftgen.records import Record, Status


@dataclass
class ItemResult:
    """What one step did with one input: the outcome, the records it passes on, and what it cost."""

    item_id: str
    outcome: Status
    outputs: list[Record] = field(default_factory=list)
    reason: str | None = None
    detail: str | None = None
    label: str | None = None
    llm_requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_keys: list[str] = field(default_factory=list)
    """The LLM cache rows its replies are in (asked now or found there): what `sftgen gc` keeps."""
    seconds: float = 0.0
    passes_input_on: bool = False
    """A filter keeps its input: the input itself is emitted instead of new records."""
    input_status: Status | None = None
    """The step's verdict on the input record itself, written with the result: DROPPED (by this step, with
    the reason) or KEPT (a drop by this step undone). A filter's is its outcome; a review gate says it."""
    meta_updates: dict[str, Any] = field(default_factory=dict)
    """Merged into the input record's meta in the same transaction (a None value removes the key):
    what a step records about its decision, e.g. dedup's `duplicate_of` and `similarity`."""

    def emitted_ids(self) -> list[str]:
        """What the step passes on for this input: the input itself when a filter keeps it, then its outputs."""
        emitted = [self.item_id] if self.passes_input_on and self.outcome == Status.KEPT else []
        return emitted + [record.id for record in self.outputs]

    def verdict_on_input(self) -> Status | None:
        if self.input_status is not None:
            return self.input_status
        return self.outcome if self.passes_input_on else None
