"""Recipe section `relevance:` (the chunk filter's embedding gate): scores at or above `keep_at` keep a
chunk, scores below `drop_below` drop it as off_domain, both without an LLM request; the LLM judges the
band in between. Unset (the default), the LLM judges every chunk. `examples` names a labelled sample
(JSON Lines, inside the project) that makes the score instead of the recipe's descriptions, by its
centroids or a linear probe (`fit`), over the static or the full MiniLM embeddings (`embedder`).
`sftgen calibrate` prints the values fitted on a labelled sample."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Relevance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_at: float | None = Field(default=None, ge=-1, le=1,
                                  description="Relevance score at or above which a chunk is kept without the LLM.")
    drop_below: float | None = Field(default=None, ge=-1, le=1,
                                     description="Relevance score below which a chunk is off_domain without the LLM.")

    examples: str | None = Field(default=None, description="A labelled sample in the project (JSON Lines "
                                 "of text and relevant) that makes the relevance score.")
    fit: Literal["centroids", "probe"] = Field(
        default="centroids",
        description="How the sample makes the score: centroids (cosine with the relevant texts' mean minus that "
        "with the others') or probe (a logistic regression over the embeddings, scored 2p - 1).")
    embedder: Literal["static", "minilm"] = Field(
        default="static",
        description="The embeddings the score is made from: the run's static model, or the full MiniLM it is "
        "distilled from (about ten times slower, better on noisy text).")

    @model_validator(mode="after")
    def probe_needs_examples(self) -> Relevance:
        if self.fit == "probe" and not self.examples:
            raise ValueError("relevance.fit: probe is fitted on a labelled sample: name it in relevance.examples")
        return self

    @model_validator(mode="after")
    def band_in_order(self) -> Relevance:
        if self.keep_at is not None and self.drop_below is not None and self.drop_below > self.keep_at:
            raise ValueError(f"relevance.drop_below ({self.drop_below}) is above relevance.keep_at ({self.keep_at})")
        return self

    @property
    def active(self) -> bool:
        return self.keep_at is not None or self.drop_below is not None

    def decide(self, score: float) -> bool | None:
        """True keep, False drop, None: ask the LLM."""
        if self.keep_at is not None and score >= self.keep_at:
            return True
        if self.drop_below is not None and score < self.drop_below:
            return False
        return None
