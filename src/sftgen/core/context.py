"""What steps see while they run: the project's recipe, store, templates, LLM, pipeline and the run's shared
services (RunContext, made by `open_run` alone), and for each input an ItemContext that counts the LLM
requests, cache hits and tokens that input cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sftgen.core.graph import Pipeline
from sftgen.core.services import RunServices
from sftgen.recipe import Recipe
from sftgen.store import Store

if TYPE_CHECKING:  # the HTTP client (aiohttp) and jinja2 load with a run, not with the pipeline's steps
    from sftgen.llm.client import ChatClient, LLMReply
    from sftgen.llm.templates import Templates


@dataclass
class RunContext:
    project_dir: Path
    recipe: Recipe
    store: Store
    templates: Templates
    pipeline: Pipeline
    """The whole pipeline (also when a run goes only `--until` one of its steps): how steps find each other."""
    services: RunServices
    llm: ChatClient | None = None
    llm_identity: str = "none"
    """Model name and endpoint kind; part of every LLM step's settings."""
    limit: int | None = None

    @property
    def llm_concurrency(self) -> int:
        return self.recipe.llm.max_concurrency

    def item(self, step: str | None = None) -> ItemContext:
        return ItemContext(self, step)


@dataclass
class ItemContext:
    run: RunContext
    step: str | None = None
    """The step working on this input; its requests carry the name (see ChatClient.complete)."""
    llm_requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_keys: list[str] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)
    """What a step looked up for this input in `precheck`, kept for `variables` (answer_eval's prompt)."""

    @property
    def recipe(self) -> Recipe:
        return self.run.recipe

    async def ask(
        self,
        template: str,
        variables: dict[str, Any],
        schema: type[BaseModel] | None = None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Any:
        """Render a template, ask the LLM, and return the validated reply (or the text without a schema)."""
        from sftgen.llm.client import LLMError

        if self.run.llm is None:
            raise LLMError("llm_unavailable", "this run has no LLM configured")
        messages = self.run.templates.render_messages(template, variables)
        settings = self.run.recipe.llm
        try:
            reply = await self.run.llm.complete(
                messages,
                schema=schema,
                temperature=settings.temperature if temperature is None else temperature,
                max_tokens=max_tokens or settings.max_tokens,
                seed=seed,
                step=self.step,
            )
        except LLMError as error:  # the requests a failed ask sent are counted too: the server received them
            if error.spent is not None:
                self.count(error.spent)
            raise
        self.count(reply)
        self.cache_keys.append(reply.cache_key)
        return reply.parsed if schema is not None else reply.content

    def count(self, reply: LLMReply) -> None:
        self.llm_requests += reply.requests
        self.cache_hits += int(reply.cache_hit)
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
