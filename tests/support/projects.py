"""Small projects on disk for tests: a recipe, a docs folder, optional template overrides."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from sftgen.cli import EXAMPLE

TINY_RECIPE = {
    "project": "tiny",
    "domain": {
        "name": "particle physics",
        "subdomains": [{"name": "quarks", "share": 0.5}, {"name": "gluons", "share": 0.5}],
    },
    "chunking": {"size": 400, "overlap": 40},
    # The fake server's unscripted verdicts are drawn at random (one in five is "keep"), so a filter here may
    # drop more than 90% by chance: the guard against a misjudging filter would stop runs these tests are
    # not about. tests/test_filter_guard.py tests it.
    "filters": {"stop_share": 1.0},
}


def make_project(root: Path, docs: dict[str, str | bytes] | None = None, recipe: dict | None = None) -> Path:
    """A project folder with `docs` (name -> content) and a recipe (the tiny one by default)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe or TINY_RECIPE, sort_keys=False))
    docs_dir = root / "docs"
    docs_dir.mkdir(exist_ok=True)
    for name, content in (docs or {}).items():
        path = docs_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def example_project(root: Path) -> Path:
    """The project `sftgen init` writes."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE / "recipe.yaml", root / "recipe.yaml")
    shutil.copytree(EXAMPLE / "docs", root / "docs")
    return root


def paragraphs(topic: str, count: int) -> str:
    return "\n\n".join(
        f"Paragraph {i} about {topic}. " + " ".join(f"{topic} fact {i}.{j} is stated here." for j in range(6))
        for i in range(count)
    )
