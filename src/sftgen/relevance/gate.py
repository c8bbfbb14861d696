"""The scorer a run uses: from `relevance.examples` when the recipe names a labelled sample (a file inside
the project), else from the recipe's domain and subdomain descriptions."""

from __future__ import annotations

import os
from pathlib import Path

from sftgen.recipe import Recipe
from sftgen.relevance.sample import SampleError, read_sample
from sftgen.relevance.score import DescriptionScorer, Encoder, ExampleScorer


class RelevanceSetupError(Exception):
    """`relevance.examples` cannot be used: the run cannot score chunks as the recipe asks."""


def examples_path(recipe: Recipe, project_dir: Path) -> Path | None:
    name = recipe.relevance.examples
    if not name:
        return None
    root = Path(os.path.realpath(project_dir))
    path = Path(os.path.realpath(root / name))
    if not path.is_relative_to(root):
        raise RelevanceSetupError(f"relevance.examples: {name!r} is outside the project folder")
    return path


def scorer_for(recipe: Recipe, project_dir: Path, embedder: Encoder) -> DescriptionScorer | ExampleScorer:
    path = examples_path(recipe, project_dir)
    if path is None:
        return DescriptionScorer(recipe, embedder)
    try:
        sample = read_sample(path)
    except SampleError as exc:
        raise RelevanceSetupError(f"relevance.examples: {exc}") from None
    return ExampleScorer([t.text for t in sample.texts if t.relevant],
                         [t.text for t in sample.texts if not t.relevant], embedder)
