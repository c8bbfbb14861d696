"""The search backend a recipe names (`research.backend` and its settings)."""

from __future__ import annotations

import os
from pathlib import Path

from sftgen.recipe import Recipe
from sftgen.search.base import SearchBackend, SearchError
from sftgen.search.brave import BraveBackend
from sftgen.search.duckduckgo import DuckDuckGoBackend
from sftgen.search.local_bm25 import LocalBM25Backend
from sftgen.search.searxng import SearxngBackend


def make_search_backend(recipe: Recipe, project_dir: Path, backend: str | None = None) -> SearchBackend:
    """`backend` overrides `research.backend` (the answer half may search elsewhere than the loop)."""
    research = recipe.research
    name = backend or research.backend
    if name == "local":
        return LocalBM25Backend(research.local.path(project_dir), project_dir,
                                index_dir=project_dir / ".sftgen" / "search-index")
    if name == "searxng":
        settings = research.searxng
        return SearxngBackend(settings.base_url, settings.categories, settings.language, settings.timeout_s)
    if name == "brave":
        settings = research.brave
        key = os.environ.get(settings.api_key_env, "")
        if not key:
            raise SearchError("missing_api_key", f"research.brave.api_key_env: ${settings.api_key_env} is not set")
        return BraveBackend(key, settings.base_url, settings.country, settings.timeout_s)
    if name == "duckduckgo":
        settings = research.duckduckgo
        return DuckDuckGoBackend(settings.region, settings.safesearch, settings.timeout_s)
    raise SearchError("unknown_backend", f"research.backend: unknown backend {name!r}")
