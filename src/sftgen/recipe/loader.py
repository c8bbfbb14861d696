"""Reading `recipe.yaml`: YAML -> pydantic, with errors that name the key and its line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sftgen.recipe.model import Recipe

ENV_OVERRIDES = {
    "SFTGEN_LLM_PROVIDER": "provider",
    "SFTGEN_LLM_BASE_URL": "base_url",
    "SFTGEN_LLM_MODEL": "model",
}


class RecipeError(Exception):
    """A recipe that cannot be used; the message names the file, the key and the line."""


def load_recipe(path: Path, env: dict[str, str] | None = None) -> Recipe:
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text) or {}
        lines = key_lines(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: the recipe must be a mapping of sections, not {type(data).__name__}")
    apply_env_overrides(data, env)
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(describe_errors(path, exc, lines)) from exc


def apply_env_overrides(data: dict[str, Any], env: dict[str, str]) -> None:
    overrides = {field: env[name] for name, field in ENV_OVERRIDES.items() if env.get(name)}
    if not overrides:
        return
    llm = data.get("llm")
    if not isinstance(llm, dict):
        llm = {}
        data["llm"] = llm
    llm.update(overrides)


def describe_errors(path: Path, exc: ValidationError, lines: dict[tuple, int]) -> str:
    messages = []
    for error in exc.errors():
        location = tuple(error["loc"])
        key = ".".join(str(part) for part in location) or "(top level)"
        line = nearest_line(location, lines)
        where = f"{path}:{line}" if line else str(path)
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{key}'"
        elif error["type"] == "missing":
            message = f"missing key '{key}'"
        else:
            message = f"'{key}': {error['msg']}"
        messages.append(f"{where}: {message}")
    return "invalid recipe:\n  " + "\n  ".join(messages)


def nearest_line(location: tuple, lines: dict[tuple, int]) -> int | None:
    """The line of the key itself, or of its nearest parent that is written in the file."""
    for end in range(len(location), 0, -1):
        if location[:end] in lines:
            return lines[location[:end]]
    return None


def key_lines(text: str) -> dict[tuple, int]:
    """Map each key path, e.g. ('llm', 'provider') or ('domain', 'subdomains', 0), to its 1-based line."""
    root = yaml.compose(text)
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, key_node.value)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if root is not None:
        walk(root, ())
    return lines
