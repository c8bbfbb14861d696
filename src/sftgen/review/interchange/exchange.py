"""Interchange with annotation tools teams already use: what an export holds (the queue's items at their
current version), and reading annotations back as decisions, matched by record id (unknown ids are
reported, never guessed).

Files read: Label Studio's JSON, JSON-MIN and CSV exports; Argilla's records as `to_json` writes them
(nested) and as `to_list(flatten=True)` / `to_datasets()` give them (flat; a JSON list, or JSON Lines as
`Dataset.to_json` writes). An annotation is imported once per version: changed in its tool (Label Studio's
Update, an Argilla response submitted again), it comes back as a new decision, with the version of what it
says in its external id (`<tool>:<record>:<annotation or user>@<version>`)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

from sftgen.decisions.log import (
    ACCEPT, EDIT, REJECT, REJECTED, Decision, DecisionError, content_version,
)
from sftgen.review.interchange import argilla, labelstudio
from sftgen.review.interchange.types import (
    Candidate, ExportItem, ImportReport, InterchangeError, Proposed, candidates_text, judge_text,
)
from sftgen.review.queue import ReviewQueue
from sftgen.review.views import item_view, rubric_dimensions

FORMATS = ("labelstudio", "argilla")
NO_REASON = "no reason given"


def passages_text(passages: list[dict]) -> str:
    return "\n\n".join(f"[{p['n'] or '-'}] {p['title'] or ''} {p['url'] or ''}\n{p['record'].text}" for p in passages)


def candidates_item(queue: ReviewQueue, item, view: dict) -> ExportItem:
    dimensions = rubric_dimensions(queue.recipe)
    candidates = []
    for shown in view["candidates"]:
        scored = ExportItem(record_id="", kind="answer", version_id="", text="", prompt=None, passages="",
                            subdomain=None, status="", llm_scores={k: v["score"] for k, v in shown["llm_scores"].items()},
                            llm_reasons={k: v["why"] for k, v in shown["llm_scores"].items() if v["why"]})
        candidates.append(Candidate(number=shown["number"], record_id=shown["item"].id, version_id=shown["current"].id,
                                    text=shown["current"].text, judge=judge_text(scored, dimensions),
                                    judge_chosen=bool(shown["judge_chosen"])))
    passages, seen = [], set()
    for shown in view["candidates"]:
        for passage in shown["passages"]:
            if passage["record"].id not in seen:
                seen.add(passage["record"].id)
                passages.append(passage)
    prompt = view.get("prompt")
    exported = ExportItem(record_id=item.id, kind="answer", version_id=item.id, text="",
                          prompt=prompt.text if prompt else None, passages=passages_text(passages),
                          subdomain=item.subdomain, status=item.state.status, llm_scores={}, candidates=candidates)
    exported.text = candidates_text(exported)
    return exported


def export_items(queue: ReviewQueue) -> list[ExportItem]:
    items = []
    for kind in queue.kinds:
        for item in queue.items(kind):
            view = item_view(queue.store, item, queue.recipe)
            if item.candidates:
                items.append(candidates_item(queue, item, view))
                continue
            current = view["current"]
            passages = passages_text(view.get("passages", []))
            prompt = view.get("prompt")
            items.append(ExportItem(
                record_id=item.id, kind=kind, version_id=current.id, text=current.text,
                prompt=prompt.text if prompt else None, passages=passages, subdomain=item.subdomain,
                status=item.state.status, llm_scores={k: v["score"] for k, v in view["llm_scores"].items()},
                llm_reasons={k: v["why"] for k, v in view["llm_scores"].items() if v["why"]},
            ))
    return items


def write_export(queue: ReviewQueue, fmt: str, out: Path) -> int:
    if fmt not in FORMATS:
        raise InterchangeError(f"--export {fmt}: expected one of {', '.join(FORMATS)}")
    items = export_items(queue)
    dimensions = rubric_dimensions(queue.recipe)
    reasons = queue.review.reject_reasons
    module = labelstudio if fmt == "labelstudio" else argilla
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(module.tasks(items, dimensions), ensure_ascii=False, indent=1), encoding="utf-8")
    module.write_settings(out, dimensions, reasons, queue.review.reviews_required,
                          max((len(item.candidates) for item in items), default=0))
    return len(items)


def read_import(queue: ReviewQueue, path: Path) -> ImportReport:
    """Read a Label Studio or Argilla export (see the module's docstring) and record its annotations."""
    entries, source = read_entries(path)
    dimensions = rubric_dimensions(queue.recipe)
    notes = []
    if all(isinstance(entry, dict) and "fields" in entry for entry in entries):
        proposed = argilla.decisions_from(entries, dimensions, path)
    elif all(argilla.is_flat_record(entry) for entry in entries):
        proposed = argilla.decisions_from_flat(entries, dimensions)
    elif all(isinstance(entry, dict) and "data" in entry for entry in entries):
        proposed = labelstudio.decisions_from(entries, dimensions)
    elif all(labelstudio.is_min_row(entry) for entry in entries):
        proposed = labelstudio.decisions_from_rows(entries, dimensions, source)
    else:
        raise InterchangeError(f"{path}: neither Label Studio's JSON, JSON-MIN or CSV export nor Argilla records "
                               "(nested with 'fields', or flat with '<question>.responses' columns)")
    if any(entry.reviewer.startswith("labelstudio:") for entry in proposed):
        notes.append("Label Studio named some reviewers by user id only: export through the export snapshot API "
                     'with serialization_options {"annotations__completed_by": {"only_id": false}} to get their emails')
    report = record_all(queue, proposed)
    report.notes = notes + report.notes
    return report


def read_entries(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The file's entries and how they were written: `json` (a list, or {"records": [...]}), `jsonl`, `csv`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InterchangeError(f"{path}: cannot read it: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("{"):
            try:  # split on newlines only: str.splitlines would also split at U+2028 inside a string
                return [json.loads(line) for line in text.split("\n") if line.strip()], "jsonl"
            except ValueError:
                pass
        elif text.strip() and not text.lstrip().startswith("["):
            return read_csv(text, path), "csv"
        raise InterchangeError(f"{path}: cannot read it as JSON, JSON Lines or CSV: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise InterchangeError(f"{path}: expected a list of tasks or records, found {type(data).__name__}")
    return data, "json"


def read_csv(text: str, path: Path) -> list[dict[str, Any]]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows or "annotation_id" not in rows[0]:
        raise InterchangeError(f"{path}: a CSV without an annotation_id column is not Label Studio's CSV export")
    return rows


def record_all(queue: ReviewQueue, proposed: list[Proposed]) -> ImportReport:
    log = queue.log
    report = ImportReport()
    for entry, recheck in expanded(log.store, proposed, report):
        record = log.store.get(entry.record_id) if entry.record_id else None
        if record is None:
            report.unknown_ids.append(entry.record_id or f"(no record id at {entry.where})")
            continue
        try:
            decision = to_decision(entry, record.kind)
        except DecisionError as exc:
            report.problems.append(f"{entry.where}: {exc}")
            continue
        version = content_version(decision)
        latest = log.latest_imported(entry.external_id)
        if latest is not None and content_version(latest) == version:
            report.already_imported += 1  # the same annotation, unchanged since it was imported
            continue
        decision.external_id = log.free_external_id(f"{entry.external_id}@{version}")
        try:
            log.record(decision, recheck=recheck)
        except DecisionError as exc:
            report.problems.append(f"{entry.where}: {exc}")
            continue
        report.recorded += 1
        if record.kind == "answer" and prompt_set_aside(queue, record):
            report.notes.append(f"answer {record.id}: its prompt was rejected or edited, so this decision is kept "
                                "but has no effect unless the prompt comes back")
    report.unknown_ids = sorted(set(report.unknown_ids))
    return report


def expanded(store, proposed: list[Proposed], report: ImportReport):
    """Each annotation as the decisions it makes, with the items whose gate must look again: an annotation of
    candidates is the pick of one (the others rechecked) or the rejection of each."""
    for entry in proposed:
        if not entry.candidate_ids:
            yield entry, ()
            continue
        ids, versions = entry.candidate_ids, entry.candidate_versions or entry.candidate_ids
        if entry.decision == REJECT:
            for candidate, version in zip(ids, versions):
                yield dataclasses.replace(entry, record_id=candidate, version_id=version, original_text=None,
                                          edited_text=None, external_id=f"{entry.external_id}:{candidate}"), ()
            continue
        try:
            number = int(str(entry.pick).strip().split()[-1]) if entry.pick not in (None, "") else None
        except ValueError:
            number = None
        if number is None or not 1 <= number <= len(ids):
            report.problems.append(f"{entry.where}: answers of one prompt: {entry.decision or 'no decision'} without "
                                   f"a candidate picked (1-{len(ids)})")
            continue
        picked, version = ids[number - 1], versions[number - 1]
        seen = store.get(version)
        edited = (entry.edited_text or "").strip()
        others = [store.get(other) for other in versions if other != version]
        if edited in {other.text.strip() for other in others if other is not None}:
            edited = ""  # the edit box as it started (the judge's pick): no edit of another candidate picked
        yield dataclasses.replace(
            entry, record_id=picked, version_id=version, original_text=seen.text if seen else None,
            edited_text=edited or None, picked=True, external_id=f"{entry.external_id}:{picked}",
        ), [other for other in ids if other != picked]


def prompt_set_aside(queue: ReviewQueue, answer) -> bool:
    prompt_id = answer.meta.get("prompt_id")
    if not prompt_id:
        return False
    state = queue.log.state(prompt_id, queue.review.reviews_required)
    return state.status == REJECTED or state.version_id != prompt_id


def to_decision(entry: Proposed, kind: str) -> Decision:
    decision = entry.decision
    edited = (entry.edited_text or "").strip()
    changed = bool(edited) and edited != (entry.original_text or "").strip()
    if changed and decision != REJECT:
        decision = EDIT
    elif decision == EDIT and entry.picked:
        decision = ACCEPT  # picked with "edit" but the box left as it started: the pick as it is
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
        decision=decision, picked=entry.picked and decision != REJECT, reason=(entry.reason or NO_REASON) if decision == REJECT else None,
        edited_text=edited if decision == EDIT else None, scores=scores, seconds=entry.seconds,
        source=entry.source, external_id=entry.external_id,
    )
