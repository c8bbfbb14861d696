"""The judge's output schema, built from the recipe's rubric: one `{score: 1-5, why}` field per
dimension, so a reply that leaves a dimension out or scores 7 fails validation and is re-asked. The score
is an enum, not a bounded integer: llama.cpp's schema grammar ignores `minimum`/`maximum` (the embedded
judge wrote 7s) but keeps an enum (sftgen.llm.schemas)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


class DimensionScore(BaseModel):
    score: Literal[1, 2, 3, 4, 5]
    why: str = Field(max_length=240, description="One short sentence.")
    """Bounded, so a small model cannot ramble until max_tokens cuts the JSON off."""


class DimensionScoreReasonFirst(BaseModel):
    """`filters.reason_first`: the reason before the score, so the score follows from it."""

    why: str = Field(max_length=240, description="One short sentence.")
    score: Literal[1, 2, 3, 4, 5]


@lru_cache(maxsize=32)
def rubric_schema(dimension_names: tuple[str, ...], reason_first: bool = False) -> type[BaseModel]:
    dimension = DimensionScoreReasonFirst if reason_first else DimensionScore
    fields: dict[str, Any] = {
        f"d{index}_{re.sub(r'[^0-9a-zA-Z_]', '_', name)}": (dimension, Field(alias=name))
        for index, name in enumerate(dimension_names)
    }
    return create_model("RubricScores", __config__=ConfigDict(populate_by_name=True), **fields)


def scores_of(reply: BaseModel) -> dict[str, dict[str, Any]]:
    """{dimension name: {score, why}} from a validated reply."""
    return {field.alias: getattr(reply, name).model_dump() for name, field in type(reply).model_fields.items()}


def mean_score(scores: dict[str, dict[str, Any]]) -> float:
    return round(sum(entry["score"] for entry in scores.values()) / len(scores), 3)
