"""Recipe section `dedup:`: which methods run and their thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DedupMethod = Literal["exact", "near", "semantic"]


class Dedup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    methods: list[DedupMethod] = Field(
        default_factory=lambda: ["exact", "near", "semantic"],
        description="Run in this order: exact (normalised text), near (MinHash LSH), semantic (embeddings).",
    )
    near_threshold: float = Field(default=0.7, gt=0, le=1, description="Jaccard similarity of word shingles.")
    shingle_words: int = Field(default=2, ge=1, le=5, description="Words per shingle for near-duplicates.")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations.")
    semantic_threshold: float = Field(
        default=0.9, gt=0, le=1,
        description="Cosine similarity of embeddings at which a pair is a semantic candidate.",
    )
    content_check: bool = Field(
        default=True,
        description="Near and semantic candidates must also agree on their content words (IDF-weighted, "
        "synonyms by word embeddings); other numbers never agree.",
    )
    content_threshold: float = Field(
        default=0.8, gt=0, le=1,
        description="Least content agreement of a semantic pair: IDF-weighted share of words matched by "
        "the same word or a close synonym, the lower of both directions.",
    )
    semantic_neighbours: int = Field(
        default=10, ge=1, le=200, description="Nearest neighbours looked at per prompt in the ANN index."
    )

    @field_validator("methods")
    @classmethod
    def no_repeats(cls, methods: list[str]) -> list[str]:
        if len(set(methods)) != len(methods):
            raise ValueError(f"methods must not repeat: {methods}")
        return methods
