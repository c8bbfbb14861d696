"""Which of a prompt's candidate answers is the chosen one (the record contract of answer candidates:
/work/coord/CANDIDATES_CONTRACT.md). `answer_select` writes `chosen` into each candidate's meta; an answer
without the key (a project with one answer per prompt) counts as chosen."""

from __future__ import annotations

from sftgen.records import Record
from sftgen.store import Store

ANSWER_STEP = "answer"
"""The step that writes a prompt's candidates (steps/answer.py, AnswerStep.name)."""


def is_chosen(record: Record) -> bool:
    return record.meta.get("chosen", True) is not False


def candidates_of(store: Store, prompt_id: str) -> list[Record]:
    """The candidate answers the answer step passes on now for this prompt, by candidate index."""
    answers = store.emits.emitted_from(ANSWER_STEP, prompt_id, "answer")
    return sorted(answers, key=lambda answer: answer.meta.get("candidate_index", 0))
