"""A hand-made store for report tests and the report bench: prompts kept by `dedup` and `review_gate` (the
last prompt step) and answers made by `answer`, judged by `answer_eval` and passed on by `answer_review_gate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sftgen.records import Record, Status
from sftgen.store import ItemResult, Store, open_store

BATCH = 2000


def seed_report_store(project_dir: Path, prompts: list[tuple[str, dict[str, Any]]],
                      answers: list[tuple[int, str, dict[str, int], bool]] = ()) -> list[Record]:
    """prompts: (text, meta); answers: (index of its prompt, text, rubric scores, kept). Returns the prompts."""
    store: Store = open_store(project_dir)
    try:
        records = [Record(kind="prompt", text=text, meta=meta, origin=f"seed:{i}") for i, (text, meta) in
                   enumerate(prompts)]
        results = [ItemResult(item_id=f"profile-{i}", outcome=Status.KEPT, outputs=[r]) for i, r in enumerate(records)]
        commit(store, "dedup", results)
        commit(store, "review_gate", [ItemResult(item_id=r.id, outcome=Status.KEPT, outputs=[r]) for r in records])
        made, judged, passed = [], [], []
        for n, (index, text, scores, kept) in enumerate(answers):
            meta = {"prompt_id": records[index].id, "scores": {d: {"score": s, "why": "-"} for d, s in scores.items()}}
            answer = Record(kind="answer", text=text, parent_ids=[records[index].id], meta=meta, origin=f"a:{n}")
            made.append(ItemResult(item_id=records[index].id, outcome=Status.KEPT, outputs=[answer]))
            judged.append(ItemResult(item_id=answer.id, outcome=Status.KEPT, outputs=[answer]) if kept else
                          ItemResult(item_id=answer.id, outcome=Status.DROPPED, reason="low_score"))
            if kept:
                passed.append(ItemResult(item_id=answer.id, outcome=Status.KEPT, outputs=[answer]))
        commit(store, "answer", made)
        commit(store, "answer_eval", judged)
        commit(store, "answer_review_gate", passed)
    finally:
        store.close()
    return records


def commit(store: Store, step: str, results: list[ItemResult]) -> None:
    for start in range(0, len(results), BATCH):
        store.commit_batch(step, "seed", results[start:start + BATCH])
