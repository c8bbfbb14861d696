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
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        where = str(exc).replace('"<unicode string>"', f'"{path.name}"')
        raise RecipeError(f"{path}: not valid YAML: {where}") from exc
    lines, duplicates = key_lines(root)
    if duplicates:
        raise RecipeError("invalid recipe:\n  " + "\n  ".join(
            f"{path}:{second}: duplicate key '{dotted(key)}' (also at line {first}); YAML would keep only the "
            "last one: remove the other" for key, first, second in duplicates))
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
        key = dotted(location) or "(top level)"
        line = nearest_line(location, lines)
        where = f"{path}:{line}" if line else str(path)
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{key}'"
        elif error["type"] == "missing":
            message = f"missing key '{key}'"
        elif error["type"] == "value_error":  # our validators' own words, without pydantic's "Value error, "
            message = f"'{key}': {error.get('ctx', {}).get('error', error['msg'])}"
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


def dotted(location: tuple) -> str:
    return ".".join(str(part) for part in location)


def key_lines(root: yaml.Node | None) -> tuple[dict[tuple, int], list[tuple[tuple, int, int]]]:
    """Map each key path, e.g. ('llm', 'provider') or ('domain', 'subdomains', 0), to its 1-based line; and
    list the keys written twice in one mapping, anywhere in the file, as (path, first line, second line)."""
    lines: dict[tuple, int] = {}
    duplicates: list[tuple[tuple, int, int]] = []

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, key_node.value if isinstance(key_node, yaml.ScalarNode) else key_node.start_mark)
                line = key_node.start_mark.line + 1
                if child in lines:  # reported; its value is not searched for more (its keys repeat the first's)
                    duplicates.append((child, lines[child], line))
                    continue
                lines[child] = line
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if root is not None:
        walk(root, ())
    return lines, duplicates
