"""Recipe section of the answer half (`answers:`): grounded answers, their evaluation and the SFT export."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RubricDimension(_Section):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1, description="What a 5 means on this scale; shown to the judge.")


DEFAULT_RUBRIC = [
    RubricDimension(name="style", description="clear, well organised, direct; reads like an expert's answer"),
    RubricDimension(name="domain", description="answers the prompt squarely within the recipe's domain"),
    RubricDimension(
        name="groundedness",
        description="every claim is supported by the cited passages; no invented facts (with RAG off: "
        "factually sound to the best of your knowledge)",
    ),
]


class Answers(_Section):
    enabled: bool = Field(default=True, description="Run the answer half after the prompt half.")
    rag: bool = Field(default=True, description="Ground answers in searched passages; false: the model alone.")
    queries_per_prompt: int = Field(
        default=3, ge=1, le=10, description="Search queries per prompt: the prompt itself and LLM variations."
    )
    search_backend: Literal["local", "searxng", "brave", "duckduckgo"] | None = Field(
        default=None, description="Where answer queries are searched; null: research.backend (and its settings)."
    )
    pages_per_query: int = Field(default=3, ge=1, le=20, description="Top search hits fetched per query.")
    passages_per_answer: int = Field(default=5, ge=1, le=20, description="Passages the answer is written from.")
    passage_size: int = Field(default=800, ge=100, description="Characters per passage the pages are cut into.")
    passage_overlap: int = Field(default=80, ge=0)
    system_prompt: str | None = Field(
        default=None, description="A system message put in front of every exported SFT conversation."
    )
    evaluate: bool = Field(default=True, description="Score every answer on the rubric with the LLM.")
    rubric: list[RubricDimension] = Field(default_factory=lambda: list(DEFAULT_RUBRIC), min_length=1)
    threshold: float = Field(
        default=3.0, ge=1, le=5, description="Answers whose mean rubric score is below this are 'below threshold'."
    )
    below_threshold: Literal["drop", "review"] = Field(
        default="drop", description="drop: dropped as low_score; review: kept with needs_review: true."
    )
    candidates: int = Field(
        default=1, ge=1, le=9, description="Answers written per prompt from the same passages (2+: the judge picks one)."
    )
    styles: list[str] = Field(
        default_factory=list, max_length=9,
        description="Optional answer styles, one short instruction per candidate (candidate i gets style i).",
    )
    temperatures: list[float] = Field(
        default_factory=list, max_length=9,
        description="Optional sampling temperature per candidate; empty: llm.temperature for every candidate.",
    )
    seed: int = Field(default=0, ge=0, description="With 2+ candidates, candidate i is sampled with seed + i.")
    preference_margin: float = Field(
        default=1.0, ge=0, le=4,
        description="A `judge` preference pair needs the winner's mean rubric score this far above the loser's.",
    )

    @model_validator(mode="after")
    def check(self) -> Answers:
        if self.passage_overlap >= self.passage_size:
            raise ValueError(f"passage_overlap ({self.passage_overlap}) must be smaller than passage_size")
        names = [dimension.name for dimension in self.rubric]
        if len(set(names)) != len(names):
            raise ValueError(f"rubric dimension names must be unique: {names}")
        for name, values in (("styles", self.styles), ("temperatures", self.temperatures)):
            if values and len(values) != self.candidates:
                raise ValueError(f"answers.{name} has {len(values)} entries; it needs one per candidate "
                                 f"(answers.candidates: {self.candidates})")
        if any(not style.strip() for style in self.styles):
            raise ValueError("answers.styles: a style is an instruction; an empty one says nothing")
        if any(not 0 <= t <= 2 for t in self.temperatures):
            raise ValueError(f"answers.temperatures must be between 0 and 2: {self.temperatures}")
        return self
