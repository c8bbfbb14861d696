"""How each of a prompt's candidate answers is asked for: the same passages, varied by sampling (a seed and
a temperature per candidate) and optionally by an answer style from the recipe. Each candidate's request
differs from the others', so the LLM cache keeps one reply per candidate.

With one candidate and no style, the request is exactly the one a single answer always had (no seed, the
recipe's temperature) and the answer carries no candidate meta: nothing changes for existing projects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CandidatePlan:
    index: int
    """0-based, in the order the candidates are asked for."""
    count: int
    temperature: float | None
    """None: the recipe's `llm.temperature`."""
    seed: int | None
    style: str | None

    @property
    def single(self) -> bool:
        """The one answer of a project without candidates: asked and stored as before candidates existed."""
        return self.count == 1 and self.style is None and self.temperature is None

    def origin(self, base: str) -> str:
        """Candidate 0 keeps the single answer's origin (so its id); the others are told apart by index, so
        two candidates with the same text stay two records."""
        return base if self.index == 0 else f"{base}#candidate{self.index}"

    def meta(self) -> dict[str, Any]:
        if self.single:
            return {}
        meta: dict[str, Any] = {"candidate_index": self.index, "candidates": self.count}
        if self.style is not None:
            meta["style"] = self.style
        return meta


def candidate_plans(answers: Any) -> list[CandidatePlan]:
    """One plan per candidate from the recipe's `answers` section."""
    count = answers.candidates
    plans = []
    for index in range(count):
        plans.append(CandidatePlan(
            index=index,
            count=count,
            temperature=answers.temperatures[index] if answers.temperatures else None,
            seed=answers.seed + index if count > 1 else None,
            style=answers.styles[index] if answers.styles else None,
        ))
    return plans


def candidate_settings(answers: Any) -> dict[str, Any]:
    """What of the candidates goes into the answer step's settings: nothing with one plain candidate (so the
    settings hash of existing projects stays the same)."""
    settings: dict[str, Any] = {}
    if answers.candidates > 1:
        settings["candidates"] = answers.candidates
        settings["seed"] = answers.seed
    if answers.styles:
        settings["styles"] = list(answers.styles)
    if answers.temperatures:
        settings["temperatures"] = list(answers.temperatures)
    return settings
