"""What the interchange with Label Studio and Argilla passes around: the items an export holds, the
annotations read back (before they are checked against the store), and the report of an import."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class InterchangeError(Exception):
    """A file that cannot be read as either tool's export; the message names the file and the problem."""


@dataclass
class ExportItem:
    record_id: str
    kind: str
    version_id: str
    text: str
    prompt: str | None
    passages: str
    subdomain: str | None
    status: str
    llm_scores: dict[str, float]
    llm_reasons: dict[str, str] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    """A prompt's candidate answers reviewed as one item (the first is `record_id`): pick one or reject all."""

    @property
    def judge_pick(self) -> int | None:
        """The number (1-based) of the candidate the judge chose, None when it chose none."""
        return next((c.number for c in self.candidates if c.judge_chosen), None)

    def prefill(self) -> str:
        """What the edit box starts from: the text, or for candidates the judge's pick (else the first)."""
        if not self.candidates:
            return self.text
        return self.candidates[(self.judge_pick or 1) - 1].text


@dataclass
class Candidate:
    number: int
    record_id: str
    version_id: str
    text: str
    judge: str
    """The judge's scores as text."""
    judge_chosen: bool


def candidates_text(item: ExportItem) -> str:
    """All candidates, numbered, each with the judge's scores: what the reviewer compares."""
    parts = []
    for candidate in item.candidates:
        judge = f"\n(the judge: {'; '.join(candidate.judge.splitlines())})" if candidate.judge else ""
        mark = " (the judge's pick)" if candidate.judge_chosen else ""
        parts.append(f"Candidate {candidate.number}{mark}:\n{candidate.text}{judge}")
    return "\n\n".join(parts)


@dataclass
class ImportReport:
    recorded: int = 0
    already_imported: int = 0
    unknown_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Recorded, but worth knowing (e.g. a decision on an answer whose prompt was rejected)."""


def slug(name: str) -> str:
    """A name both tools accept for a control / question: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "x"


@dataclass
class Proposed:
    """One annotation read from a file, before it is checked against the store."""

    where: str
    record_id: str | None
    version_id: str | None
    reviewer: str
    decision: str | None
    reason: str | None
    edited_text: str | None
    original_text: str | None
    scores: dict[str, Any]
    seconds: float | None
    source: str
    external_id: str
    pick: Any = None
    """For candidates: the number of the candidate picked (as the tool gives it back)."""
    candidate_ids: list[str] = field(default_factory=list)
    candidate_versions: list[str] = field(default_factory=list)
    picked: bool = False
    """Set when the annotation of candidates is read as the pick of this one (exchange.expanded)."""


def judge_text(item: ExportItem, dimensions: list[str]) -> str:
    lines = []
    for dimension in dimensions:
        if dimension in item.llm_scores:
            why = item.llm_reasons.get(dimension, "")
            lines.append(f"{dimension}: {item.llm_scores[dimension]:g}" + (f" ({why})" if why else ""))
    return "\n".join(lines)
