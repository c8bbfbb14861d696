"""Turns the recipe's `llm` block into a running ChatClient: an OpenAI-compatible server the user names,
or the embedded llama.cpp server started for the length of the run."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from sftgen.llm.client import ChatClient, RequestCache
from sftgen.llm.embedded import EmbeddedServer, EmbeddedServerError, packaged_gguf
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


@asynccontextmanager
async def open_llm(settings: LLM, project_dir: Path, cache: RequestCache | None) -> AsyncIterator[ChatClient]:
    server = None
    if settings.provider == "embedded":
        server = EmbeddedServer(embedded_model_path(settings, project_dir), settings.context_size,
                                project_dir / ".sftgen" / "embedded-server.log", threads=settings.threads)
        base_url, model, concurrency = server.start(), server.alias, min(settings.max_concurrency,
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
        model_identity=gguf_identity(server.model_path) if server is not None else None,
    )
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            server.stop()
