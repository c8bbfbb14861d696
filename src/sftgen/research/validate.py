"""`sftgen validate` for the `research:` section: the backend can be made, the local corpus and the
URL lists exist. No search is sent (validation spends nothing and needs no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sftgen.ingest.readers import FORMAT_BY_EXTENSION, iter_source_files
from sftgen.project import Project
from sftgen.search import SearchError, make_search_backend


def research_problems(project: Project, say: Callable[[str], None]) -> list[str]:
    research = project.recipe.research
    problems = [f"research.url_lists: '{name}' does not exist ({project.dir / name})"
                for name in research.url_lists if not (project.dir / name).is_file()]
    if not research.enabled:
        return problems
    if research.backend == "local":
        corpus = research.local.path(project.dir)
        if not corpus.exists():
            return problems + [f"research.local.corpus: '{research.local.corpus}' does not exist ({corpus})"]
        files = list(iter_source_files(corpus)) if corpus.is_dir() else [corpus]
        readable = [f for f in files if f.suffix.lower() in FORMAT_BY_EXTENSION]
        say(f"research: local search over {research.local.corpus} ({len(readable)} readable files)")
        if not readable:
            problems.append(f"research.local.corpus: '{research.local.corpus}' holds no readable file")
        return problems
    try:
        backend = make_search_backend(project.recipe, project.dir)
    except SearchError as exc:
        return problems + [f"research.backend {research.backend}: {exc.detail}"]
    asyncio.run(backend.aclose())
    say(f"research: {research.backend} search configured")
    return problems
