"""`sftgen validate`: is the recipe usable, are there documents to read, does the LLM answer?"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
from pydantic import BaseModel

from sftgen.failures import RunStopped
from sftgen.ingest.readers import FORMAT_BY_EXTENSION, iter_source_files
from sftgen.llm.client import LLMError
from sftgen.llm.http1.pool import TransportError
from sftgen.llm.provider import open_llm, structured_mode
from sftgen.llm.structured import InvalidReply, parse_reply
from sftgen.llm.templates import TemplateError, Templates
from sftgen.pipeline import standard_pipeline
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
    for step in standard_pipeline(project.recipe):
        name = getattr(step, "template", None)
        if name:
            try:
                templates.messages_of(name)  # found, and each message compiles on its own
            except TemplateError as exc:
                problems.append(f"step {step.name}: {exc}")
    return problems


class ProbeReply(BaseModel):
    word: str


PROBE_MESSAGES = [{"role": "user", "content": 'Reply with a JSON object whose "word" is "OK".'}]
PROBE_MAX_TOKENS = 48


def llm_problems(project: Project, say: Callable[[str], None]) -> list[str]:
    """One request as the steps make them: a small JSON schema, in the structured-output mode of the run."""
    settings = project.recipe.llm
    mode = structured_mode(settings)

    async def probe():
        async with open_llm(settings, project.dir, cache=None) as client:
            body = client.request_body(PROBE_MESSAGES, {"temperature": 0, "max_tokens": PROBE_MAX_TOKENS}, ProbeReply)
            return await client.send(body), client.base_url, client.model

    try:
        reply, base_url, model = asyncio.run(probe())
    except (LLMError, RunStopped, OSError, asyncio.TimeoutError, aiohttp.ClientError, TransportError) as exc:
        return [f"llm: the {settings.provider} LLM does not answer: {getattr(exc, 'message', None) or describe(exc)}"]
    where = f"the {settings.provider} LLM ({base_url}, model {model})"
    problem = probe_problem(reply.status_code, reply.content, mode)
    if problem:
        return [f"llm: {where} {problem}"]
    content = json.loads(reply.content)["choices"][0]["message"]["content"]  # probe_problem checked its shape
    say(f"llm: {settings.provider} answers with JSON in structured_output mode {mode}: {excerpt(content, 80)}")
    return []


def probe_problem(status: int, body: bytes, mode: str) -> str | None:
    """What keeps the steps from using this reply to the probe, or None."""
    text = body.decode("utf-8", errors="replace")
    if status != 200:
        return f"answered HTTP {status}: {excerpt(text)}"
    try:
        payload = json.loads(text)
    except ValueError:
        return f"answered 200 with a body that is not JSON, so not an OpenAI chat completion: {excerpt(text)}"
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ("answered 200 without `choices`: not an OpenAI chat completion (is llm.base_url the server's "
                f"OpenAI-compatible root, usually ending in /v1?): {excerpt(text)}")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        return f"answered a chat completion without text content: {excerpt(text)}"
    try:
        parse_reply(content, ProbeReply)
    except InvalidReply as exc:
        if str(exc).startswith("not JSON") or str(exc) == "empty reply":
            cut = " (cut off at max_tokens)" if choices[0].get("finish_reason") == "length" else ""
            return (f"replied with text that is not JSON{cut} when asked for JSON in structured_output mode {mode}"
                    f": {excerpt(content)}. The steps need JSON: try another llm.structured_output "
                    "(json_schema, json_object or instructions) or a model that follows it")
    return None


def excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
