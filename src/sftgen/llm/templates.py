"""Prompt templates: Jinja2 files in the package, overridable by a file of the same name in
`<project>/templates/`. A template renders to chat messages: lines `<|system|>`, `<|user|>` and
`<|assistant|>` (alone on a line) open a message of that role; text before any marker is the user's.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import jinja2

ROLE_MARKER = re.compile(r"^<\|(system|user|assistant)\|>\s*$", re.MULTILINE)
PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class TemplateError(Exception):
    pass


class Templates:
    def __init__(self, project_dir: Path | None = None):
        folders = []
        if project_dir is not None and (project_dir / "templates").is_dir():
            folders.append(str(project_dir / "templates"))
        folders.append(str(PACKAGE_TEMPLATES))
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folders),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
        self.env.filters["fence"] = fence

    def source(self, name: str) -> str:
        try:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template '{name}' not found in the project's templates/ or the package") from exc
        return source

    def fingerprint(self, name: str) -> str:
        """Changes exactly when the template text that will be used changes (package or project override)."""
        return hashlib.blake2b(self.source(name).encode(), digest_size=8).hexdigest()

    def render_messages(self, name: str, variables: dict[str, Any]) -> list[dict[str, str]]:
        try:
            text = self.env.get_template(name).render(**variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template '{name}': {exc.message}") from exc
        return split_messages(text)


def split_messages(text: str) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    parts = ROLE_MARKER.split(text)
    leading = parts[0].strip()
    if leading:
        messages.append({"role": "user", "content": leading})
    for role, content in zip(parts[1::2], parts[2::2]):
        messages.append({"role": role, "content": content.strip()})
    return messages


def fence(text: str, label: str = "DOCUMENT") -> str:
    """Wrap untrusted text (documents, web pages) so templates can tell the model it is data, not instructions."""
    cleaned = text.replace(f"</{label}>", f"</ {label}>")
    return f"<{label}>\n{cleaned}\n</{label}>"
