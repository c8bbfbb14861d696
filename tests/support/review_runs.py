"""Runs of the pipeline from the prompt review gate on, against the fake LLM server: what the review tests
need to see decisions flow back (a rejected prompt's answer withdrawn, an edited prompt answered anew)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from sftgen.export.rows import export_rows
from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.run.runner import run_project
from tests.support.answer_project import make_answer_project, scores_reply, template_of


def project_with_review(root: Path, **review: Any) -> Path:
    project = make_answer_project(root)
    recipe = yaml.safe_load((project / "recipe.yaml").read_text())
    recipe["review"] = review
    (project / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return project


def scores_every_answer(score: int = 4):
    """A fake-server script: the judge scores every answer `score`; other requests get the default reply."""
    return lambda step, body: scores_reply(score) if template_of(step, body) == "answer_eval" else None


def run_from_review_gate(project_dir: Path, server) -> None:
    steps = standard_pipeline(Project.open(project_dir).recipe)
    names = [step.name for step in steps]

    async def go():
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=1, max_reasks=1,
                            backoff=Backoff(0.001, 0.01))
        try:
            await run_project(Project.open(project_dir), llm=client, steps=steps[names.index("review_gate"):])
        finally:
            await client.aclose()

    asyncio.run(go())


def exported(project_dir: Path, what: str) -> list[dict[str, Any]]:
    project = Project.open(project_dir)
    store = project.store()
    try:
        return list(export_rows(store, standard_pipeline(project.recipe), what, project.recipe))
    finally:
        store.close()
