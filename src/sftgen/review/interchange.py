"""Interchange with annotation tools teams already use: what an export holds (the queue's items at their
current version), and reading annotations back as decisions, matched by record id (unknown ids are
reported, never guessed)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftgen.review.decisions import EDIT, REJECT, Decision, DecisionError, ReviewLog
from sftgen.review.queue import ReviewQueue
from sftgen.review.views import item_view, rubric_dimensions

FORMATS = ("labelstudio", "argilla")
NO_REASON = "no reason given"


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


@dataclass
class ImportReport:
    recorded: int = 0
    already_imported: int = 0
    unknown_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def slug(name: str) -> str:
    """A name both tools accept for a control / question: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "x"


def export_items(queue: ReviewQueue) -> list[ExportItem]:
    items = []
    for kind in queue.kinds:
        for item in queue.items(kind):
            view = item_view(queue.store, item, queue.recipe)
            current = view["current"]
            passages = "\n\n".join(
                f"[{p['n'] or '-'}] {p['title'] or ''} {p['url'] or ''}\n{p['record'].text}"
                for p in view.get("passages", [])
            )
            prompt = view.get("prompt")
            items.append(ExportItem(
                record_id=item.id, kind=kind, version_id=current.id, text=current.text,
                prompt=prompt.text if prompt else None, passages=passages, subdomain=item.subdomain,
                status=item.state.status, llm_scores={k: v["score"] for k, v in view["llm_scores"].items()},
            ))
    return items


def write_export(queue: ReviewQueue, fmt: str, out: Path) -> int:
    from sftgen.review import argilla, labelstudio

    if fmt not in FORMATS:
        raise InterchangeError(f"--export {fmt}: expected one of {', '.join(FORMATS)}")
    items = export_items(queue)
    dimensions = rubric_dimensions(queue.recipe)
    reasons = queue.review.reject_reasons
    module = labelstudio if fmt == "labelstudio" else argilla
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(module.tasks(items, dimensions), ensure_ascii=False, indent=1), encoding="utf-8")
    module.write_settings(out, dimensions, reasons)
    return len(items)


def read_import(queue: ReviewQueue, path: Path) -> ImportReport:
    """Read a Label Studio JSON export or an Argilla records export and record its annotations."""
    from sftgen.review import argilla, labelstudio

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InterchangeError(f"{path}: cannot read it as JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise InterchangeError(f"{path}: expected a list of tasks or records, found {type(data).__name__}")
    if all(isinstance(entry, dict) and "fields" in entry for entry in data):
        proposed = argilla.decisions_from(data, rubric_dimensions(queue.recipe))
    elif all(isinstance(entry, dict) and "data" in entry for entry in data):
        proposed = labelstudio.decisions_from(data, rubric_dimensions(queue.recipe))
    else:
        raise InterchangeError(f"{path}: neither Label Studio tasks (with 'data') nor Argilla records (with 'fields')")
    return record_all(queue.log, proposed)


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


def record_all(log: ReviewLog, proposed: list[Proposed]) -> ImportReport:
    report = ImportReport()
    for entry in proposed:
        record = log.store.get(entry.record_id) if entry.record_id else None
        if record is None:
            report.unknown_ids.append(entry.record_id or f"(no record id at {entry.where})")
            continue
        if log.has_external(entry.external_id):
            report.already_imported += 1
            continue
        try:
            log.record(to_decision(entry, record.kind))
            report.recorded += 1
        except DecisionError as exc:
            report.problems.append(f"{entry.where}: {exc}")
    report.unknown_ids = sorted(set(report.unknown_ids))
    return report


def to_decision(entry: Proposed, kind: str) -> Decision:
    decision = entry.decision
    edited = (entry.edited_text or "").strip()
    if edited and edited != (entry.original_text or "").strip() and decision != REJECT:
        decision = EDIT
    elif decision == EDIT:
        raise DecisionError(f"{kind} {entry.record_id}: marked 'edit' but the text is unchanged")
    if decision is None:
        raise DecisionError(f"{kind} {entry.record_id}: no decision (accept / reject / edit) in the annotation")
    scores = {}
    for dimension, value in entry.scores.items():
        try:
            scores[dimension] = int(value)
        except (TypeError, ValueError):
            raise DecisionError(f"{kind} {entry.record_id}: score '{dimension}' = {value!r} is not a number") from None
    return Decision(
        item_id=entry.record_id, kind=kind, version_id=entry.version_id or entry.record_id, reviewer=entry.reviewer,
        decision=decision, reason=(entry.reason or NO_REASON) if decision == REJECT else None,
        edited_text=edited if decision == EDIT else None, scores=scores, seconds=entry.seconds,
        source=entry.source, external_id=entry.external_id,
    )
