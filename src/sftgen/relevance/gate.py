"""The relevance gate a run uses: its scorer (from `relevance.examples` when the recipe names a labelled
sample inside the project, else from the recipe's domain and subdomain descriptions) and the recipe's band."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sftgen.failures import RunStopped
from sftgen.recipe import Recipe
from sftgen.relevance.sample import SampleError, read_sample
from sftgen.relevance.score import DescriptionScorer, Encoder, ExampleScorer, ProbeScorer, Scorer


class RelevanceSetupError(RunStopped):
    """`relevance.examples` cannot be used: the run cannot score chunks as the recipe asks."""

    exit_code = 2


def examples_path(recipe: Recipe, project_dir: Path) -> Path | None:
    name = recipe.relevance.examples
    if not name:
        return None
    root = Path(os.path.realpath(project_dir))
    path = Path(os.path.realpath(root / name))
    if not path.is_relative_to(root):
        raise RelevanceSetupError(f"relevance.examples: {name!r} is outside the project folder")
    return path


def scorer_for(recipe: Recipe, project_dir: Path,
               embedder: Encoder) -> Scorer:
    path = examples_path(recipe, project_dir)
    if path is None:
        return DescriptionScorer(recipe, embedder)
    try:
        sample = read_sample(path)
    except SampleError as exc:
        raise RelevanceSetupError(f"relevance.examples: {exc}") from None
    scorer = ProbeScorer if recipe.relevance.fit == "probe" else ExampleScorer
    return scorer([t.text for t in sample.texts if t.relevant], [t.text for t in sample.texts if not t.relevant],
                  embedder)


def examples_fingerprint(recipe: Recipe, project_dir: Path) -> str | None:
    """Changes when the labelled sample behind the score changes (so the chunk filter redoes its items)."""
    path = examples_path(recipe, project_dir)
    if path is None:
        return None
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
    except OSError:
        return "unreadable"  # reading it for the run says what is wrong


class RelevanceGate:
    """Scores chunks and decides the clear cases by the recipe's `relevance` band."""

    def __init__(self, recipe: Recipe, project_dir: Path, embedder: Encoder):
        self.settings = recipe.relevance
        self.scorer = scorer_for(recipe, project_dir, embedder)

    def score(self, text: str) -> float:
        return self.scorer.score(text)

    def decide(self, score: float) -> bool | None:
        """True keep, False drop, None: ask the LLM."""
        return self.settings.decide(score)
