"""`sftgen validate`: is the recipe usable, are there documents to read, does the LLM answer?"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sftgen.ingest.readers import FORMAT_BY_EXTENSION, iter_source_files
from sftgen.llm.client import LLMError
from sftgen.llm.embedded import EmbeddedServerError
from sftgen.llm.provider import open_llm
from sftgen.llm.templates import TemplateError, Templates
from sftgen.pipeline import build_pipeline
from sftgen.project import Project
from sftgen.research.validate import research_problems


def validate_project(project: Project, check_llm: bool, say: Callable[[str], None]) -> list[str]:
    problems = source_problems(project, say) + template_problems(project) + research_problems(project, say)
    if check_llm and not problems:
        problems += llm_problems(project, say)
    return problems


def source_problems(project: Project, say: Callable[[str], None]) -> list[str]:
    problems = []
    for folder_name in project.recipe.sources.folders:
        folder = project.dir / folder_name
        if not folder.is_dir():
            problems.append(f"sources.folders: '{folder_name}' is not a folder ({folder})")
            continue
        files = list(iter_source_files(folder))
        readable = [f for f in files if f.suffix.lower() in FORMAT_BY_EXTENSION]
        say(f"sources: {folder_name}/ holds {len(files)} files, {len(readable)} of a readable type")
        if not readable:
            problems.append(f"sources.folders: '{folder_name}' holds no txt, md, html, pdf or jsonl file")
    return problems


def template_problems(project: Project) -> list[str]:
    templates = Templates(project.dir)
    problems = []
    for step in build_pipeline(project.recipe):
        name = getattr(step, "template", None)
        if name:
            try:
                templates.messages_of(name)  # found, and each message compiles on its own
            except TemplateError as exc:
                problems.append(f"step {step.name}: {exc}")
    return problems


def llm_problems(project: Project, say: Callable[[str], None]) -> list[str]:
    async def ask() -> str:
        async with open_llm(project.recipe.llm, project.dir, cache=None) as client:
            reply = await client.complete([{"role": "user", "content": "Reply with the word OK."}],
                                          temperature=0, max_tokens=8)
            return reply.content

    try:
        answer = asyncio.run(ask())
    except (LLMError, EmbeddedServerError, OSError) as exc:
        return [f"llm: the {project.recipe.llm.provider} LLM does not answer: {exc}"]
    say(f"llm: {project.recipe.llm.provider} answers ({answer.strip()[:40]!r})")
    return []
