"""A project for the answer half: kept prompts seeded as if the last prompt step had passed them on, a
local search corpus on disk, and the real answer steps as `standard_pipeline` wires them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.run.runner import run_project
from sftgen.store import ItemResult

CORPUS = {
    "quarks.md": "# Quarks\n\nQuarks come in six flavours: up, down, strange, charm, bottom and top. Each quark "
    "carries a colour charge and a fractional electric charge of +2/3 or -1/3. Quarks are never seen alone "
    "because of colour confinement; they are bound into hadrons.\n\n" * 2,
    "gluons.md": "# Gluons\n\nGluons are the massless gauge bosons of the strong force. They carry colour charge "
    "themselves, so they interact with each other, which leads to asymptotic freedom at short distances and "
    "confinement at long distances.\n\n" * 2,
    "hadrons.md": "# Hadrons\n\nBaryons such as the proton are made of three quarks; mesons such as the pion "
    "are made of a quark and an antiquark. Lattice QCD computes hadron masses from first principles.\n\n" * 2,
}

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
]


def answer_recipe(**answers: Any) -> dict[str, Any]:
    return {
        "project": "answers",
        "domain": {"name": "particle physics",
                   "subdomains": [{"name": "quarks", "share": 0.5}, {"name": "gluons", "share": 0.5}]},
        "research": {"backend": "local", "local": {"corpus": "corpus"}, "fetch": {"min_text_chars": 50}},
        "answers": {"queries_per_prompt": 2, "pages_per_query": 2, "passages_per_answer": 3,
                    "passage_size": 300, "passage_overlap": 30, **answers},
    }


def make_answer_project(root: Path, corpus: dict[str, str] | None = None, **answers: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "recipe.yaml").write_text(yaml.safe_dump(answer_recipe(**answers), sort_keys=False))
    (root / "docs").mkdir(exist_ok=True)
    corpus_dir = root / "corpus"
    corpus_dir.mkdir(exist_ok=True)
    for name, text in (corpus or CORPUS).items():
        (corpus_dir / name).write_text(text, encoding="utf-8")
    return root


def seed_prompts(project_dir: Path, prompts: list[tuple[str, str]] | None = None) -> list[Record]:
    """Kept prompts, emitted by the pipeline's last prompt step (where the answer half reads them)."""
    project = Project.open(project_dir)
    source = standard_pipeline(project.recipe).final("prompt")
    records = [Record(kind="prompt", text=text, meta={"subdomain": sub}, origin="seed")
               for text, sub in (prompts or PROMPTS)]
    store = project.store()
    try:
        store.commit_batch(source.name, "seeded", [
            ItemResult(item_id=f"seed:{record.id}", outcome=Status.KEPT, outputs=[record]) for record in records
        ])
    finally:
        store.close()
    return records


def answer_half(project_dir: Path):
    """The steps `standard_pipeline` puts after the last prompt step."""
    steps = standard_pipeline(Project.open(project_dir).recipe)
    names = [step.name for step in steps]
    source = steps.final("prompt")
    return steps[names.index(source.name) + 1:]


def run_answers(project_dir: Path, server) -> None:
    async def go():
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=1, max_reasks=1,
                            backoff=Backoff(0.001, 0.01))
        try:
            await run_project(Project.open(project_dir), llm=client, steps=answer_half(project_dir))
        finally:
            await client.aclose()

    asyncio.run(go())


def template_of(step: str | None, body: dict[str, Any]) -> str:
    """Which answer-half template a request was rendered from: the step that asks (the X-Sftgen-Step
    header) and, for the answer step, whether passages are fenced in (grounded) or not (closed book)."""
    if step == "answer":
        return "answer" if "<PASSAGE>" in user_text(body) else "answer_closed_book"
    return step or "other"


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user")


def scores_reply(score: int) -> str:
    return json.dumps({name: {"score": score, "why": f"{name} judged {score}"}
                       for name in ("style", "domain", "groundedness")})


def run_with_judge(project_dir: Path, score, answer: str = "Quarks come in six flavours [1].") -> list[dict[str, Any]]:
    """Run the answer half on the fake server: every answer is `answer`, the judge gives `score` (a number,
    or a function of how many answers it judged before) on every dimension. Returns the judge's requests."""
    from tests.fakes.fake_openai_server import running_fake_server

    judged: list[dict[str, Any]] = []

    def script(step, body):
        if template_of(step, body) == "answer":
            return json.dumps({"answer": answer})
        if template_of(step, body) == "answer_eval":
            judged.append(body)
            return scores_reply(score(len(judged) - 1) if callable(score) else score)
        return None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project_dir, server)
    return judged
