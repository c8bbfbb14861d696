"""The one record type every pipeline item shares: documents, chunks, profiles, queries, prompts, answers,
and the one set of statuses a record and a step's outcome have.

A record's id is a hash of its kind, its text and its origin (the ids of its parents), so the same
content made from the same parents always gets the same id, across runs and machines.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """A record's status, and the outcome of a step on one input. Stored as the plain strings."""

    KEPT = "kept"
    DROPPED = "dropped"
    ERROR = "error"
    """Only an outcome: the step failed on the input (recorded on it, retried by the next run)."""


CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
"""`json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)`, without making
an encoder per call (a fifth of a record id's cost)."""


def stable_hash(*parts: Any, length: int = 16) -> str:
    """Hex digest of the parts' canonical JSON: dict key order and float formatting do not matter."""
    payload = CANONICAL_JSON.encode(parts)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=length).hexdigest()


def record_id(kind: str, text: str, parent_ids: list[str], origin: str = "") -> str:
    return f"{kind[:3]}_{stable_hash(kind, text, sorted(parent_ids), origin)}"


@dataclass
class Record:
    kind: str
    text: str
    parent_ids: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    """What else makes this record distinct besides text and parents (a file path, a URL, a variant tag)."""
    step: str = ""
    """The step that made it; set by the executor."""
    status: Status = Status.KEPT
    reason: str | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = record_id(self.kind, self.text, self.parent_ids, self.origin)

    def child(self, kind: str, text: str, meta: dict[str, Any] | None = None, origin: str = "") -> Record:
        """A record made from this one."""
        return Record(kind=kind, text=text, parent_ids=[self.id], meta=meta or {}, origin=origin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "step": self.step,
            "text": self.text,
            "parent_ids": self.parent_ids,
            "meta": self.meta,
            "status": self.status,
            "reason": self.reason,
        }
