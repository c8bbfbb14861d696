"""Recipe section of human review (`review:`): which items go to experts, how many reviews each needs,
the reject reasons offered, and who may reach the review server."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sftgen.recipe.names import Name

DEFAULT_REJECT_REASONS = ["irrelevant", "incorrect", "unclear", "duplicate", "unsafe", "off-domain"]


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Literal["all", "sample", "uncertain"] = Field(
        default="all",
        description="all: every prompt and answer; sample: a stable random share (sample_rate); uncertain: items "
        "whose mean LLM rubric score lies in uncertain_band, or that the LLM flagged needs_review, or that have "
        "no LLM score.",
    )
    sample_rate: float = Field(default=0.1, gt=0, le=1)
    uncertain_band: tuple[float, float] = Field(default=(2.5, 3.5), description="Inclusive [low, high] on 1-5.")
    kinds: list[Literal["prompt", "answer"]] = Field(default_factory=lambda: ["prompt", "answer"], min_length=1)
    reviews_required: int = Field(
        default=1, ge=1, le=2,
        description="Distinct reviewers whose latest decisions must agree (accept vs reject) to settle an item.",
    )
    required_before_answer: bool = Field(
        default=False,
        description="true: queued prompts wait at review_gate until reviewed; false: unreviewed prompts go on.",
    )
    reject_reasons: list[Name] = Field(default_factory=lambda: list(DEFAULT_REJECT_REASONS), min_length=1)
    token: str | None = Field(
        default=None,
        description="Access token of the review server; needed to bind anywhere but 127.0.0.1 "
        "(also --token or the SFTGEN_REVIEW_TOKEN environment variable).",
    )

    @model_validator(mode="after")
    def band_is_ordered(self) -> Review:
        low, high = self.uncertain_band
        if not 1 <= low <= high <= 5:
            raise ValueError(f"uncertain_band {list(self.uncertain_band)}: need 1 <= low <= high <= 5")
        return self
