"""Recipe section `dedup:`: which methods run and their thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    verifier: Literal["none", "llm"] = Field(
        default="none",
        description="llm: instead of the semantic thresholds, the LLM judges whether a new prompt is the same "
        "request as one of its look-alikes (both orders must agree); none: the thresholds decide.",
    )
    verifier_min_similarity: float = Field(
        default=0.65, gt=0, le=1,
        description="Lower edge of the band of look-alikes the verifier is asked about (static cosine); "
        "calibrated on bench/dedup_bench.py --sweep, where recall falls off below it.",
    )
    verifier_candidates: int = Field(
        default=5, ge=1, le=10, description="Look-alikes shown with a prompt in one verifier question."
    )
    verifier_max_pairs: int | None = Field(
        default=1000, ge=1,
        description="The most (prompt, look-alike) pairs shown to the verifier in one run; null: no limit. "
        "A prompt costs at most 2 requests.",
    )

    @model_validator(mode="after")
    def verifier_needs_embeddings(self) -> Dedup:
        if self.verifier == "llm" and "semantic" not in self.methods:
            raise ValueError("verifier: llm needs 'semantic' in methods: its candidates come from the embeddings")
        return self

    @field_validator("methods")
    @classmethod
    def no_repeats(cls, methods: list[str]) -> list[str]:
        if len(set(methods)) != len(methods):
            raise ValueError(f"methods must not repeat: {methods}")
        return methods
