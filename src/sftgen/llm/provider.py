"""Turns the recipe's `llm` block into a running ChatClient: an OpenAI-compatible server the user names,
or the embedded llama.cpp server started for the length of the run."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from sftgen.llm.client import ChatClient, RequestCache
from sftgen.llm.embedded import MODEL_ALIAS, EmbeddedServer
from sftgen.recipe.model import LLM

# llama-cpp-python's server answers one request at a time; more in flight only queue up and time out.
EMBEDDED_MAX_CONCURRENCY = 2


def structured_mode(settings: LLM) -> str:
    if settings.structured_output != "auto":
        return settings.structured_output
    return "json_object" if settings.provider == "embedded" else "json_schema"


def llm_identity(settings: LLM) -> str:
    """What the LLM steps' results depend on: the model and how structured output is asked for."""
    if settings.provider == "embedded":
        model = Path(settings.model).name if settings.model else MODEL_ALIAS
    else:
        model = settings.model
    return f"{settings.provider}:{model}:{structured_mode(settings)}"


@asynccontextmanager
async def open_llm(settings: LLM, project_dir: Path, cache: RequestCache | None) -> AsyncIterator[ChatClient]:
    server = None
    if settings.provider == "embedded":
        model_path = Path(settings.model) if settings.model else None
        if model_path is not None and not model_path.is_absolute():
            model_path = project_dir / model_path
        server = EmbeddedServer(model_path, settings.context_size, project_dir / ".sftgen" / "embedded-server.log")
        base_url, model, concurrency = server.start(), MODEL_ALIAS, min(settings.max_concurrency,
                                                                         EMBEDDED_MAX_CONCURRENCY)
    else:
        base_url, model, concurrency = str(settings.base_url), str(settings.model), settings.max_concurrency
    client = ChatClient(
        base_url,
        model,
        api_key=os.environ.get(settings.api_key_env) or None,
        api_key_env=settings.api_key_env,
        max_concurrency=concurrency,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        max_reasks=settings.max_reasks,
        structured_output=structured_mode(settings),
        cache=cache,
    )
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            server.stop()
