"""A project for review tests: prompts seeded as `dedup` passed them on, and answers (with passages,
citations and LLM judge scores) as `answer_eval` passed them on, so the review queue and gates see them
exactly as they see the pipeline's own records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.store import ItemResult
from tests.support.answer_project import answer_recipe

SCRIPT_PROMPT = "What does <script>window.__pwned = 1</script> do inside a quark?"

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
    (SCRIPT_PROMPT, "quarks"),
]


def make_review_project(root: Path, review: dict[str, Any] | None = None, **answers: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    recipe = answer_recipe(**answers)
    if review:
        recipe["review"] = review
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    (root / "docs").mkdir(exist_ok=True)
    return root


def emit(project_dir: Path, step: str, records: list[Record]) -> None:
    store = Project.open(project_dir).store()
    try:
        store.put_records(records)
        store.commit_batch(step, "seeded", [
            ItemResult(item_id=record.id, outcome=Status.KEPT, passes_input_on=True) for record in records
        ])
    finally:
        store.close()


def seed_prompts(project_dir: Path, prompts: list[tuple[str, str]] | None = None) -> list[Record]:
    records = [Record(kind="prompt", text=text, meta={"subdomain": sub, "topic": "t", "task_type": "explain"},
                      origin="seed", step="generate") for text, sub in (prompts or PROMPTS)]
    emit(project_dir, "dedup", records)
    return records


def seed_answer(project_dir: Path, prompt: Record, text: str, llm_scores: dict[str, int]) -> Record:
    passages = [
        Record(kind="passage", text=f"Passage {n} about {prompt.meta['subdomain']} <b>bold?</b>",
               parent_ids=[prompt.id], meta={"url": f"https://example.org/{n}", "title": f"Source {n}",
                                              "prompt_id": prompt.id}, origin=str(n), step="answer_retrieve")
        for n in (1, 2)
    ]
    answer = Record(
        kind="answer", text=text, parent_ids=[prompt.id, *(p.id for p in passages)], step="answer",
        meta={
            "prompt_id": prompt.id, "rag": True, "subdomain": prompt.meta["subdomain"],
            "passage_ids": [p.id for p in passages],
            "citations": [{"n": n, "url": p.meta["url"], "title": p.meta["title"], "passage_id": p.id}
                          for n, p in enumerate(passages, 1)],
            "scores": {name: {"score": score, "why": f"judge says {score}"} for name, score in llm_scores.items()},
        },
    )
    store = Project.open(project_dir).store()
    try:
        store.put_records(passages)
    finally:
        store.close()
    emit(project_dir, "answer_eval", [answer])
    return answer
