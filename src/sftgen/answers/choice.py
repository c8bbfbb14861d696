"""Which of a prompt's candidate answers is the chosen one (CANDIDATES_CONTRACT: `meta.chosen`,
`meta.candidate_index`). An answer without a `chosen` key counts as chosen (one answer per prompt)."""

from __future__ import annotations

from collections.abc import Sequence

from sftgen.records import Record
from sftgen.store import Store

ANSWER_STEPS = ("answer_select", "answer_eval", "answer")
"""The steps that pass candidates on, furthest first: the candidates are what the furthest one that ran passes on."""


def is_chosen(record: Record) -> bool:
    return record.meta.get("chosen", True) is not False


def candidates_of(store: Store, prompt_id: str, steps: Sequence[str] | None = None) -> list[Record]:
    """The candidate answers of one prompt as the furthest answer step that ran passes them on (or as any of
    `steps` does), in candidate order; reviewers' edited versions are not candidates of their own."""
    searched = [list(steps)] if steps else [[name] for name in ANSWER_STEPS]
    for step in searched:
        found = [answer for answer in store.emitted(step, kind="answer")
                 if answer.meta.get("prompt_id") == prompt_id and answer.meta.get("candidate_index") is not None
                 and not answer.meta.get("edited_from")]
        if found or steps:
            return sorted(found, key=lambda answer: int(answer.meta.get("candidate_index") or 0))
    return []
