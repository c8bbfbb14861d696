"""Prompt templates: Jinja2 files in the package, overridable by a file of the same name in
`<project>/templates/`. A template is a list of chat messages: lines `<|system|>`, `<|user|>` and
`<|assistant|>` (alone on a line) open a message of that role; text before any marker is the user's.

The messages come from the template's source, never from the values put into it: the source is split
at its marker lines first, and each message's text is rendered on its own. A document holding a line
`<|system|>` stays text inside the message that quotes it. (So a Jinja block cannot span two messages.)
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import jinja2

from sftgen.llm.fencing import fence

ROLE_MARKER = re.compile(r"^<\|(system|user|assistant)\|>[ \t\r]*$", re.MULTILINE)
PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
RECHECK_S = 1.0
"""How long a template's text is used before its file is checked for a change again."""


class TemplateError(Exception):
    pass


@dataclass(frozen=True)
class MessageSource:
    role: str
    template: jinja2.Template
    fast: bool = True
    """Render through jinja's internals (`render_fast`) when this jinja has them (`has_fast_render`); else
    through `Template.render`. Both give the same text and raise the same errors (tests/test_template_render.py)."""

    def render(self, variables: dict[str, Any]) -> str:
        if self.fast:
            return self.render_fast(variables)
        return self.template.render(variables)

    def render_fast(self, variables: dict[str, Any]) -> str:
        """`template.render(**variables)`, without copying the template's globals out of their ChainMap on
        every call (a third of a render's CPU): they are flattened once per compiled message. This is
        jinja 3.1's `Template.render` body (`new_context` + `root_render_func` + `handle_exception`); jinja2
        is not pinned to a minor version, so `has_fast_render` checks those parts are there first."""
        template = self.template
        environment = template.environment
        context = environment.context_class(environment, {**self.flat_globals, **variables}, template.name,
                                            template.blocks, globals=template.globals)
        try:
            return environment.concat(template.root_render_func(context))  # type: ignore[attr-defined]
        except Exception:
            environment.handle_exception()
            raise  # handle_exception always raises; this line keeps type checkers content

    @cached_property
    def flat_globals(self) -> dict[str, Any]:
        return dict(self.template.globals)


def has_fast_render(template: jinja2.Template) -> bool:
    """Whether this jinja's Template has the parts `MessageSource.render_fast` uses, as jinja 3.1 has them. A
    jinja that moved them renders through `Template.render` (slower by a third, the same text)."""
    environment = getattr(template, "environment", None)
    return (callable(getattr(template, "root_render_func", None))
            and isinstance(getattr(template, "blocks", None), dict)
            and hasattr(template, "globals")
            and environment is not None
            and not getattr(environment, "is_async", True)
            and callable(getattr(environment, "context_class", None))
            and callable(getattr(environment, "concat", None))
            and callable(getattr(environment, "handle_exception", None)))


class DataEnvironment(jinja2.Environment):
    """Jinja's environment, `x.y` of a plain dict (a passage, a profile's meta) taken as its item without the
    AttributeError jinja's own `getattr` raises and catches first (a quarter of a render of five passages). The
    same value every time: a dict's own attributes (`x.items`) still come first, as in jinja, and a missing
    key is the same undefined (tests/test_template_render.py)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and not is_dict_attribute(attribute):
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        try:  # jinja 3.1's `Environment.getattr`, here without a call to it (a render makes many)
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)


@lru_cache(maxsize=1024)
def is_dict_attribute(name: str) -> bool:
    """Whether a plain dict may have this attribute (an instance has no attributes of its own, so only
    those its class has; `hasattr(dict, ...)` also sees the metaclass's, which sends those the slow way)."""
    return hasattr(dict, name)


class Templates:
    def __init__(self, project_dir: Path | None = None):
        folders = []
        if project_dir is not None and (project_dir / "templates").is_dir():
            folders.append(str(project_dir / "templates"))
        folders.append(str(PACKAGE_TEMPLATES))
        self.env = DataEnvironment(
            loader=jinja2.FileSystemLoader(folders),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
        self.env.filters["fence"] = fence
        self._compiled: dict[tuple[str, str], list[MessageSource]] = {}
        self._sources: dict[str, tuple[str, Any, float]] = {}

    def source(self, name: str) -> str:
        """The template's text; read again only when its file changed (Jinja's up-to-date check: a stat,
        not a read), checked at most once every `RECHECK_S` (a stat per request was a tenth of a render)."""
        held = self._sources.get(name)
        now = time.monotonic()
        if held is not None and held[1] is not None and (now - held[2] < RECHECK_S or held[1]()):
            if now - held[2] >= RECHECK_S:
                self._sources[name] = (held[0], held[1], now)
            return held[0]
        try:
            source, _, uptodate = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template '{name}' not found in the project's templates/ or the package") from exc
        self._sources[name] = (source, uptodate, now)
        return source

    def fingerprint(self, name: str) -> str:
        """Changes exactly when the template text that will be used changes (package or project override)."""
        return hashlib.blake2b(self.source(name).encode(), digest_size=8).hexdigest()

    def messages_of(self, name: str) -> list[MessageSource]:
        """The template's messages, each with its own compiled text (compiled once per source text)."""
        source = self.source(name)
        key = (name, source)
        if key not in self._compiled:
            try:
                self._compiled[key] = [self.message_source(role, text) for role, text in split_source(source)]
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(f"template '{name}', line {exc.lineno}: {exc.message} (a Jinja block "
                                    "must open and close within one message)") from exc
        return self._compiled[key]

    def message_source(self, role: str, text: str) -> MessageSource:
        template = self.env.from_string(text)
        return MessageSource(role, template, fast=has_fast_render(template))

    def roles(self, name: str) -> list[str]:
        return [message.role for message in self.messages_of(name)]

    def render_messages(self, name: str, variables: dict[str, Any]) -> list[dict[str, str]]:
        messages = []
        for message in self.messages_of(name):
            try:
                text = message.render(variables)
            except jinja2.UndefinedError as exc:
                raise TemplateError(f"template '{name}': {exc.message}") from exc
            messages.append({"role": message.role, "content": text.strip()})
        return messages


def split_source(source: str) -> list[tuple[str, str]]:
    """(role, text) for each message of a template's source. Each text keeps its place in the file
    (blank lines stand for the lines before it), so Jinja's errors name the template's own line numbers."""
    parts: list[tuple[str, str]] = []
    markers = list(ROLE_MARKER.finditer(source))
    leading = source[: markers[0].start()] if markers else source
    if leading.strip():
        parts.append(("user", leading))
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(source)
        lines_before = source.count("\n", 0, marker.end())
        parts.append((marker.group(1), "\n" * lines_before + source[marker.end():end]))
    return parts

