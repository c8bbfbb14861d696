"""The recipe: what a project wants, as data. Every section refuses unknown keys."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sftgen.recipe.answer_settings import Answers
from sftgen.recipe.dedup_settings import Dedup
from sftgen.recipe.names import Name
from sftgen.recipe.prompt_settings import Profiles, Prompts
from sftgen.recipe.relevance_settings import Relevance
from sftgen.recipe.review_settings import Review
from sftgen.recipe.research_settings import Research


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Subdomain(Section):
    name: Name
    share: float = Field(gt=0, le=1, description="Target share of the prompts for this subdomain.")
    description: str = ""


class Domain(Section):
    name: Name
    description: str = ""
    subdomains: list[Subdomain] = Field(min_length=1)

    @model_validator(mode="after")
    def shares_add_up(self) -> Domain:
        total = sum(sub.share for sub in self.subdomains)
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"subdomain shares add up to {total:.3f}, not 1.0")
        names = [sub.name for sub in self.subdomains]
        if len(set(names)) != len(names):
            raise ValueError("subdomain names must be unique")
        return self


class Sources(Section):
    folders: list[Name] = Field(default_factory=lambda: ["docs"], min_length=1,
                                description="Relative to the project folder.")
    max_file_mb: float = Field(default=50, gt=0)
    max_pdf_pages: int = Field(default=2000, gt=0, description="PDFs with more pages are too_many_pages.")


class Chunking(Section):
    unit: Literal["characters", "tokens"] = "characters"
    size: int = Field(default=1500, gt=0)
    overlap: int = Field(default=150, ge=0)

    @model_validator(mode="after")
    def overlap_below_size(self) -> Chunking:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class LLM(Section):
    provider: Literal["embedded", "openai"] = "embedded"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = Field(default=32, ge=1, le=4096)
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=512, ge=1)
    timeout_s: float = Field(default=120, gt=0)
    max_retries: int = Field(default=6, ge=0)
    max_reasks: int = Field(default=2, ge=0, description="Re-asks after a reply that fails its schema.")
    structured_output: Literal["auto", "json_schema", "json_object", "instructions"] = Field(
        default="auto",
        description="auto: json_schema response_format for openai servers, llama.cpp's json_object+schema "
        "for the embedded server.",
    )
    context_size: int = Field(default=4096, ge=512, description="Context window of the embedded server.")
    threads: int | None = Field(
        default=None, ge=1, le=512,
        description="CPU threads of the embedded server; null: half the CPUs this process may use, at least 1.",
    )
    price_per_million_input: float = Field(default=0, ge=0)
    price_per_million_output: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def openai_needs_url(self) -> LLM:
        if self.provider == "openai" and not self.base_url:
            raise ValueError("provider 'openai' needs base_url (e.g. http://127.0.0.1:8000/v1)")
        if self.provider == "openai" and not self.model:
            raise ValueError("provider 'openai' needs model (the server's model name)")
        return self


class Filters(Section):
    advisory: list[Name] = Field(default_factory=list,
                                 description="Filter steps whose verdicts are recorded on the kept item but drop nothing.")
    stop_share: float = Field(default=0.9, gt=0, le=1,
                              description="A filter dropping more than this share of what it judged stops the run.")
    stop_min_items: int = Field(default=20, ge=1, description="Items a filter must judge before it can stop the run.")
    reason_first: bool | Literal["auto"] = Field(
        default="auto",
        description="Judges write their reason before their verdict (or score). auto: yes with provider openai; "
        "no with the embedded SmolLM2-135M, which then called 19 of 20 in-domain chunks too_thin or boilerplate.")

    def reasons_first(self, provider: str) -> bool:
        return provider == "openai" if self.reason_first == "auto" else bool(self.reason_first)


class Budget(Section):
    max_llm_requests: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_wall_minutes: float | None = Field(default=None, gt=0)


class Recipe(Section):
    project: Name = "sftgen project"
    domain: Domain
    sources: Sources = Field(default_factory=Sources)
    chunking: Chunking = Field(default_factory=Chunking)
    llm: LLM = Field(default_factory=LLM)
    budget: Budget = Field(default_factory=Budget)
    filters: Filters = Field(default_factory=Filters)
    relevance: Relevance = Field(default_factory=Relevance)
    profiles: Profiles = Field(default_factory=Profiles)
    prompts: Prompts = Field(default_factory=Prompts)
    research: Research = Field(default_factory=Research)
    answers: Answers = Field(default_factory=Answers)
    dedup: Dedup = Field(default_factory=Dedup)
    review: Review = Field(default_factory=Review)
