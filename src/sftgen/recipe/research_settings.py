"""Recipe section `research:` (the fresh-documents loop, and the search and fetching the answer half reuses):
which search backend, how pages are fetched, and what the fresh-documents loop may spend."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocalSearch(_Section):
    corpus: str = Field(
        default="corpus",
        description="A folder (read recursively: txt, md, html, pdf, jsonl) or one JSONL file, relative to the "
        "project folder, or a path outside it (absolute, ~ or ../), which is only read. Hits are local://<path> "
        "URLs read back from disk (relative to the project inside it, absolute outside).",
    )

    def path(self, project_dir: Path) -> Path:
        """The corpus, resolved (symbolic links followed) against the project folder."""
        return (project_dir / Path(self.corpus).expanduser()).resolve()


class SearxngSearch(_Section):
    base_url: str = Field(default="http://127.0.0.1:8888", description="The instance's root URL.")
    categories: str = "general"
    language: str = ""
    timeout_s: float = Field(default=20, gt=0)


class BraveSearch(_Section):
    api_key_env: str = Field(default="BRAVE_API_KEY", description="Environment variable that holds the key.")
    base_url: str = "https://api.search.brave.com/res/v1/web/search"
    country: str = ""
    timeout_s: float = Field(default=20, gt=0)


class DuckDuckGoSearch(_Section):
    region: str = "wt-wt"
    safesearch: Literal["on", "moderate", "off"] = "moderate"
    timeout_s: float = Field(default=20, gt=0)


class Fetch(_Section):
    timeout_s: float = Field(default=20, gt=0, description="The most one page may take, redirects included.")
    max_page_mb: float = Field(default=5, gt=0, description="Larger pages are refused as too_large.")
    max_redirects: int = Field(default=5, ge=0)
    concurrency: int = Field(default=16, ge=1, description="Pages fetched at once in all.")
    per_host_concurrency: int = Field(default=2, ge=1, description="Pages fetched at once from one host.")
    content_types: list[Literal["html", "pdf", "text"]] = Field(default_factory=lambda: ["html", "pdf", "text"])
    user_agent: str = "sftgen/0.1 (+https://github.com/sftgen)"
    cache: bool = Field(default=True, description="Keep cleaned pages under .sftgen/pages, keyed by URL.")
    min_text_chars: int = Field(default=200, ge=0, description="Pages with less main text are dropped as too_thin.")


class Research(_Section):
    enabled: bool = Field(default=False, description="Run the fresh-documents loop.")
    backend: Literal["local", "searxng", "brave", "duckduckgo"] = "local"
    local: LocalSearch = Field(default_factory=LocalSearch)
    searxng: SearxngSearch = Field(default_factory=SearxngSearch)
    brave: BraveSearch = Field(default_factory=BraveSearch)
    duckduckgo: DuckDuckGoSearch = Field(default_factory=DuckDuckGoSearch)
    fetch: Fetch = Field(default_factory=Fetch)
    allow_private_addresses: bool = Field(
        default=False, description="Fetch from loopback, private and link-local addresses (intranets, tests)."
    )
    queries_per_profile: int = Field(default=2, ge=1, le=8)
    results_per_query: int = Field(default=3, ge=1, le=50)
    max_queries: int = Field(default=50, ge=0, description="Search budget: research queries in all, across runs.")
    max_pages: int = Field(default=150, ge=0, description="Fetch budget: pages fetched in all, across runs.")
    prompts_per_page: float = Field(
        default=4, gt=0,
        description="Prompts one fetched page is expected to yield: a pass fetches about deficit / this pages "
        "for a subdomain, then waits for them to be profiled before it fetches more.",
    )
    near_duplicate_threshold: float = Field(
        default=0.8, gt=0, le=1, description="Estimated Jaccard similarity (MinHash) above which a page is skipped."
    )
    url_lists: list[str] = Field(
        default_factory=list, description="Text files (relative to the project) with one URL a line, fetched as documents."
    )

