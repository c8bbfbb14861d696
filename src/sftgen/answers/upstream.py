"""Fan-in across answer steps. Retrieval needs *all* pages of a prompt (found by several queries), and
the answer needs all its passages; the executor hands a step one input at a time, so these steps consume
the prompt and read what the earlier answer steps emitted for it from the store.

The answer steps run in order within each pass, so the earlier step has normally finished the prompt;
if not (a run stopped in between), `UpstreamPending` records an error and the prompt is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sftgen.records import Record, Status
from sftgen.store import Store


class UpstreamPending(Exception):
    """An earlier answer step has not processed this prompt yet; retried on the next pass or run."""


def emitted_from(store: Store, step: str, source_id: str, kind: str | None = None) -> list[Record]:
    """The records `step` passes on now that it made from the input `source_id`, in emit order."""
    return store.emits.emitted_from(step, source_id, kind)


class HeldPassage(NamedTuple):
    """What the answer step needs of a retrieved passage (its parent ids are not read)."""

    id: str
    text: str
    meta: dict[str, Any]


def ranked_passages(store: Store, retrieve_step: str, prompt_id: str) -> list[HeldPassage]:
    """The passages retrieval kept for the prompt, in its rank order."""
    return in_rank_order(store.emits.emitted_texts_from(retrieve_step, prompt_id, "passage"))


def ranked_passages_many(store: Store, retrieve_step: str, prompt_ids: Sequence[str]) -> dict[str, list[HeldPassage]]:
    """`ranked_passages` of several prompts in one query: prompt id -> its passages (every id given is a key)."""
    emitted = store.emits.emitted_texts_from_many(retrieve_step, prompt_ids, "passage")
    return {prompt_id: in_rank_order(found) for prompt_id, found in emitted.items()}


def in_rank_order(emitted: list[tuple[str, str, dict[str, Any]]]) -> list[HeldPassage]:
    """Passages (id, text, meta) in emit order, sorted by retrieval's rank (ties keep their emit order)."""
    return sorted(map(HeldPassage._make, emitted), key=lambda passage: passage.meta.get("rank", 0))


def require_processed(store: Store, step: str, item: Record) -> tuple[str, str | None]:
    """(outcome, reason) of `step` on this input once it has kept or dropped it. An input it has not
    processed, or failed on (it is retried), makes this prompt wait: deciding now would fix an answer
    made from less than was asked for."""
    return require_processed_id(store, step, item.kind, item.id)


def require_processed_id(store: Store, step: str, kind: str, item_id: str,
                         outcome: tuple[str, str | None] | None = None) -> tuple[str, str | None]:
    """`require_processed` of the input `item_id` (a record of this kind), without its record; `outcome`:
    the step's on it (`store.progress.outcome_of`), when the caller read it with others'."""
    outcome = outcome or store.progress.outcome_of(step, item_id)
    if outcome is None:
        raise UpstreamPending(f"{step} has not processed {kind} {item_id} yet")
    if outcome[0] == Status.ERROR:
        raise UpstreamPending(f"{step} failed on {kind} {item_id} ({outcome[1]}); waiting for its retry")
    return outcome
