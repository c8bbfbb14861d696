"""Recipe sections of the prompt half: the chunk filter and profiles (`profiles:`), and prompt
generation, breadth, rephrasing and quotas (`prompts:`). Every section refuses unknown keys."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sftgen.recipe.names import Name

DEFAULT_TASK_TYPES = ["explain", "compare", "how-to", "troubleshoot", "calculate", "trade-off"]
DEFAULT_PERSONAS = ["student", "teacher", "engineer", "curious layperson", "researcher"]
DEFAULT_DIFFICULTIES = ["beginner", "intermediate", "advanced"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Profiles(_Section):
    min_chunk_chars: int = Field(
        default=200, ge=0, description="Shorter chunks are dropped as too_thin without asking the LLM."
    )
    subdomain_min_similarity: float = Field(
        default=0.35, ge=-1, le=1,
        description="Cosine similarity a profile's subdomain must reach to a recipe subdomain (name + "
        "description) when no name matches exactly.",
    )
    subdomain_margin: float = Field(
        default=0.05, ge=0, le=2,
        description="A subdomain the LLM names is kept when the passage's content is at most this much less "
        "similar to it than to the closest subdomain; else the closest one is taken (method 'content').",
    )
    unmatched_subdomain: Literal["drop", "nearest"] = Field(
        default="drop",
        description="Below the similarity: drop the profile as off_subdomain, or map it to the nearest name.",
    )


class Prompts(_Section):
    target_total: int | None = Field(
        default=200, ge=1,
        description="Prompts wanted in all; split over subdomains by their shares. null: no quotas.",
    )
    overshoot: float = Field(
        default=1.2, ge=1, le=3,
        description="Make this many times the quota, to make up for what the prompt filter and dedup drop.",
    )
    per_profile: int = Field(default=4, ge=1, le=8, description="The most prompts `generate` asks of one profile.")
    attempts: int = Field(
        default=2, ge=1, le=5,
        description="Requests `generate` may send for one profile: when a reply holds no usable prompt (small "
        "models often write statements), it asks again with another seed, up to this many times in all.",
    )
    task_types: list[Name] = Field(default_factory=lambda: list(DEFAULT_TASK_TYPES), min_length=1)
    variants_per_prompt: int = Field(default=1, ge=0, le=4, description="`broaden` variants of each prompt.")
    personas: list[Name] = Field(default_factory=lambda: list(DEFAULT_PERSONAS), min_length=1)
    difficulties: list[Name] = Field(default_factory=lambda: list(DEFAULT_DIFFICULTIES), min_length=1)
    opener_words: int = Field(default=3, ge=1, le=6, description="Words that make a prompt's opener.")
    max_opener_share: float = Field(
        default=0.15, gt=0, le=1,
        description="`rephrase` rewrites prompts whose opener is more frequent than this share of all prompts.",
    )
    min_prompts_for_rephrase: int = Field(
        default=8, ge=1, description="Below this many prompts, opener shares mean little: nothing is rephrased."
    )

    @model_validator(mode="after")
    def unique_lists(self) -> Prompts:
        for name in ("task_types", "personas", "difficulties"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name}: entries must be unique")
        return self
