"""`open_run`: the one place a RunContext is made (for `sftgen run`, the dry run and each Ray worker), and
where what the run opened is closed again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sftgen.core.context import RunContext
from sftgen.core.graph import Pipeline
from sftgen.core.services import RunServices
from sftgen.llm.client import ChatClient
from sftgen.llm.provider import llm_identity, open_llm
from sftgen.llm.templates import Templates
from sftgen.project import Project
from sftgen.store import Store


@asynccontextmanager
async def open_run(project: Project, pipeline: Pipeline, store: Store, *, llm: ChatClient | None = None,
                   start_llm: bool = False, limit: int | None = None) -> AsyncIterator[RunContext]:
    """The run's context over `store`. Its LLM is `llm` when given (with the store as its request cache
    unless it has one), else the recipe's, started only when `start_llm` (a step to run asks an LLM). A
    full disk stops the LLM client too: no request is sent whose reply cannot be stored. The run's shared
    services (fetcher, search backends...) are closed when the block ends."""
    store.db.tune_for_a_run()
    async with run_llm(project, store, llm, start_llm) as client:
        if client is not None:
            store.on_disk_full = client.give_up
        ctx = RunContext(project_dir=project.dir, recipe=project.recipe, store=store,
                         templates=Templates(project.dir), pipeline=pipeline,
                         services=RunServices(project.recipe, project.dir), llm=client,
                         llm_identity=llm_identity(project.recipe.llm, project.dir), limit=limit)
        try:
            yield ctx
        finally:
            await ctx.services.aclose()


@asynccontextmanager
async def run_llm(project: Project, store: Store, given: ChatClient | None,
                  start: bool) -> AsyncIterator[ChatClient | None]:
    if given is not None:
        if given.cache is None:  # a client made before the store was open (tests, programs embedding sftgen)
            given.cache = store
        yield given
    elif start:
        async with open_llm(project.recipe.llm, project.dir, cache=store) as client:
            yield client
    else:
        yield None
