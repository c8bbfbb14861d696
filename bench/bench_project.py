"""Shared by the bench scripts: a throwaway project whose store holds N chunks and an LLM step over them.

The LLM step is a real `LLMStep` (template file, pydantic schema, ChatClient, request cache in the store)
run by the real `LocalExecutor`; only its prompt is the bench's own, so the numbers do not move when the
product's prompts change.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.fakes` (the fake server) lives in the repo, not the package
    sys.path.insert(0, str(ROOT))

from sftgen.recipe import Recipe  # noqa: E402
from sftgen.records import Record, Status  # noqa: E402
from sftgen.core.graph import Pipeline  # noqa: E402
from sftgen.core.step import LLMStep, Outcome, SourceStep, keep  # noqa: E402
from sftgen.store import ItemResult, Store  # noqa: E402

TEMPLATE_NAME = "bench_question.jinja"
TEMPLATE = """<|system|>
You write one exam question about the text you are given.
<|user|>
Text:
{{ text | fence }}
"""


class BenchQuestion(BaseModel):
    question: str
    difficulty: str


class BenchQuestionStep(LLMStep):
    """Ask one question per chunk (the bench's LLM step)."""

    name = "bench_question"
    consumes = "chunk"
    produces = "prompt"
    template = TEMPLATE_NAME
    output_schema = BenchQuestion

    def variables(self, item: Record, ctx) -> dict[str, Any]:
        return {"text": item.text}

    def on_reply(self, item: Record, reply: BenchQuestion, ctx) -> Outcome:
        return keep(item.child("prompt", reply.question, meta={"chunk_id": item.id, "difficulty": reply.difficulty}))


class BenchSeed(SourceStep):
    """Where the bench's chunks come from: `make_project` writes them into the store under this step's name."""

    name = "seed"
    produces = "chunk"

    def discover(self, ctx):
        return iter(())


class BenchPromptSeed(BenchSeed):
    """The same, for prompts (`make_project(..., kind="prompt")`): a product step's inputs."""

    produces = "prompt"


def bench_pipeline() -> Pipeline:
    return Pipeline([BenchSeed(), BenchQuestionStep(upstream=[BenchSeed.name])])


def prompt_filter_pipeline() -> Pipeline:
    """The product's prompt filter (its template, schema, precheck and on_reply) over the bench's prompts."""
    from sftgen.steps.prompt_filter import PromptFilterStep

    return Pipeline([BenchPromptSeed(), PromptFilterStep(upstream=[BenchPromptSeed.name])])


def bench_recipe(base_url: str, concurrency: int, max_retries: int = 6, advisory: tuple[str, ...] = ()) -> Recipe:
    """`advisory`: filters whose verdicts are kept as notes (the fake server picks verdicts at random, and a
    filter that drops more than 90% stops the run)."""
    return Recipe.model_validate({
        "project": "bench",
        "domain": {"name": "physics", "subdomains": [{"name": "quarks", "share": 1.0}]},
        "llm": {"provider": "openai", "base_url": base_url, "model": "fake-model",
                "max_concurrency": concurrency, "max_retries": max_retries, "max_tokens": 256},
        **({"filters": {"advisory": list(advisory)}} if advisory else {}),
    })


PROMPT_TEXT = "How do quarks ({salt}, {i}) carry colour charge, and why does gluon exchange bind them into hadrons?"


def make_project(directory: Path, n_items: int, salt: str, kind: str = "chunk") -> Store:
    """A project folder with the bench template and a store holding `n_items` chunks (or prompts) emitted
    by `seed`."""
    (directory / "templates").mkdir(parents=True, exist_ok=True)
    (directory / "templates" / TEMPLATE_NAME).write_text(TEMPLATE, encoding="utf-8")
    store = Store(directory / ".sftgen" / "store.db")
    results = []
    for i in range(n_items):
        text = f"Chunk {i} ({salt}): quarks carry colour charge and bind into hadrons through gluon exchange."
        if kind == "prompt":
            text = PROMPT_TEXT.format(salt=salt, i=i)
        chunk = Record(kind=kind, text=text, meta={"source": f"doc{i % 97}.md", "index": i}, origin=f"{salt}:{i}")
        results.append(ItemResult(item_id=f"seed-{salt}-{i}", outcome=Status.KEPT, outputs=[chunk]))
    for start in range(0, len(results), 1000):
        store.commit_batch("seed", "seed", results[start : start + 1000])
    return store
