"""A project is a folder: `recipe.yaml`, a `docs/` folder of raw documents by default, optional
`templates/` overrides, and `.sftgen/` for the store, logs and the embedded server's log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sftgen.recipe import Recipe, load_recipe
from sftgen.store import Store, open_store
from sftgen.store.store import StepGraph

RECIPE_FILE = "recipe.yaml"


class ProjectError(Exception):
    pass


@dataclass
class Project:
    dir: Path
    recipe: Recipe

    @classmethod
    def open(cls, directory: Path) -> Project:
        directory = Path(directory).resolve()
        recipe_path = directory / RECIPE_FILE
        if not recipe_path.is_file():
            raise ProjectError(f"{recipe_path}: no recipe here (create one with `sftgen init {directory}`)")
        return cls(directory, load_recipe(recipe_path))

    @property
    def recipe_path(self) -> Path:
        return self.dir / RECIPE_FILE

    def missing_sources(self) -> list[str]:
        """One message per `sources.folders` entry that is not a folder, per `research.url_lists` entry
        that is not a file, and for a local search corpus that does not exist, naming the key."""
        folders = [f"{self.recipe_path}: sources.folders: '{name}' is not a folder ({self.dir / name})"
                   for name in self.recipe.sources.folders if not (self.dir / name).is_dir()]
        lists = [f"{self.recipe_path}: research.url_lists: '{name}' is not a file ({self.dir / name})"
                 for name in self.recipe.research.url_lists if not (self.dir / name).is_file()]
        return folders + lists + self.missing_corpus()

    def missing_corpus(self) -> list[str]:
        """The local search corpus when it was named outside the project and a step searches it. (One inside
        the project may come later; a search without it records an error per item, as before.)"""
        research, answers = self.recipe.research, self.recipe.answers
        corpus = research.local.path(self.dir)
        answers_search = answers.enabled and answers.rag and (answers.search_backend or research.backend) == "local"
        loop_searches = research.enabled and research.backend == "local"
        outside = not corpus.is_relative_to(self.dir.resolve())
        if corpus.exists() or not outside or not (loop_searches or answers_search):
            return []
        return [f"{self.recipe_path}: research.local.corpus: '{research.local.corpus}' does not exist ({corpus})"]

    @property
    def state_dir(self) -> Path:
        return self.dir / ".sftgen"

    def store(self, graph: StepGraph | None = None) -> Store:
        """The project's store; `graph` (step -> its upstream steps) for a store that commits step results."""
        return open_store(self.dir, graph)
