"""Turns the recipe's `llm` block into a running ChatClient: an OpenAI-compatible server the user names,
or the embedded llama.cpp server started for the length of the run (and watched: if it dies, the run stops)."""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from sftgen.failures import RunStopped
from sftgen.llm.client import ChatClient, LLMError, LLMReply, LLMUnusable, RequestCache
from sftgen.llm.embedded import EmbeddedServer, EmbeddedServerDied, EmbeddedServerError, packaged_gguf
from sftgen.llm.gguf import gguf_identity, model_alias
from sftgen.recipe.model import LLM

# llama-cpp-python's server answers one request at a time; more in flight only queue up and time out.
EMBEDDED_MAX_CONCURRENCY = 2


def structured_mode(settings: LLM) -> str:
    if settings.structured_output != "auto":
        return settings.structured_output
    return "json_object" if settings.provider == "embedded" else "json_schema"


def llm_identity(settings: LLM, project_dir: Path | None = None) -> str:
    """What the LLM steps' results depend on: the model (for the embedded server, its GGUF's alias and
    content fingerprint) and how structured output is asked for."""
    model = embedded_model_name(settings, project_dir) if settings.provider == "embedded" else settings.model
    return f"{settings.provider}:{model}:{structured_mode(settings)}"


def embedded_model_path(settings: LLM, project_dir: Path | None) -> Path | None:
    """`llm.model` (relative to the project), or None for the packaged model."""
    if not settings.model:
        return None
    path = Path(settings.model)
    return path if path.is_absolute() or project_dir is None else project_dir / path


def embedded_model_name(settings: LLM, project_dir: Path | None) -> str:
    """`alias@fingerprint` of the GGUF the embedded server would serve; the alias alone while the file is
    missing (starting the server then says what is wrong)."""
    path = embedded_model_path(settings, project_dir)
    try:
        return gguf_identity(path or packaged_gguf())
    except (OSError, EmbeddedServerError):
        return model_alias(path) if path else "packaged"


# How long a request that failed to reach the embedded server waits to see whether the server died.
EXIT_GRACE_S = 2.0


class EmbeddedChatClient(ChatClient):
    """The client of the embedded server. A request that fails because the server died stops the run with
    how it died (not 'connection refused' on the item), whoever notices first: the watcher or the request."""

    def __init__(self, server: EmbeddedServer, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.server = server

    def give_up(self, error: RunStopped) -> None:
        if not isinstance(error, EmbeddedServerDied) and self.server.exited():
            error = self.server.death()  # 'cannot connect' is true, but how the server died is the news
        if isinstance(error, EmbeddedServerDied) and not isinstance(self.unusable, EmbeddedServerDied):
            # The breaker may trip on 'connection refused' before the dying process is seen to exit (a
            # loaded machine): once it has, how it died replaces that.
            self.unusable = None
        super().give_up(error)

    async def complete(self, *args: Any, **kwargs: Any) -> LLMReply:
        try:
            return await super().complete(*args, **kwargs)
        except (LLMError, LLMUnusable) as exc:
            unreachable = isinstance(exc, LLMUnusable) or exc.reason == "llm_unavailable"
            if await self.server_exited(EXIT_GRACE_S if unreachable else 0):
                self.give_up(self.server.death())
                raise self.unusable from None
            raise

    async def server_exited(self, grace_s: float) -> bool:
        deadline = time.monotonic() + grace_s
        while not self.server.exited():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True


async def watch(server: EmbeddedServer, client: ChatClient) -> None:
    """When the server process exits, every request of the client fails at once with how it died."""
    await server.wait_for_exit()
    client.give_up(server.death())


@asynccontextmanager
async def open_llm(settings: LLM, project_dir: Path, cache: RequestCache | None) -> AsyncIterator[ChatClient]:
    if settings.provider != "embedded":
        client = ChatClient(str(settings.base_url), str(settings.model), **client_options(settings, cache))
        try:
            yield client
        finally:
            await client.aclose()
        return
    server = EmbeddedServer(embedded_model_path(settings, project_dir), settings.context_size,
                            project_dir / ".sftgen" / "embedded-server.log", threads=settings.threads)
    try:
        base_url = server.start()
        client = EmbeddedChatClient(server, base_url, server.alias, **client_options(
            settings, cache, max_concurrency=min(settings.max_concurrency, EMBEDDED_MAX_CONCURRENCY),
            model_identity=gguf_identity(server.model_path)))
        watcher = asyncio.create_task(watch(server, client))
        try:
            yield client
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await client.aclose()
    finally:
        server.stop()


def client_options(settings: LLM, cache: RequestCache | None, **overrides: Any) -> dict[str, Any]:
    options = dict(
        api_key=os.environ.get(settings.api_key_env) or None,
        api_key_env=settings.api_key_env,
        max_concurrency=settings.max_concurrency,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        max_reasks=settings.max_reasks,
        structured_output=structured_mode(settings),
        cache=cache,
    )
    return {**options, **overrides}
