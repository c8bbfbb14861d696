"""Argilla 2.x: records in the shape of `rg.Record.to_dict()` (what `rg.Record.from_dict()` reads): `id`,
`fields`, `metadata`, `suggestions` {question: {value, score, agent}}, `responses`, `vectors`. The settings
file next to them is in the shape `rg.Settings.serialize()` writes, so `rg.Settings.from_json(path)` loads
it; it declares every metadata key the records carry (`allow_extra_metadata` stays false).

The LLM judge's scores are a field (`judge`), not suggestions: Argilla's form starts from the suggestions,
so an untouched suggested score would be submitted as the expert's. The `edited_text` question is
suggested the text itself, so the box starts from it (left as it is, it is no edit).

Reading back, one decision per user and record, from submitted responses only:
- the flat export (`dataset.records.to_list(flatten=True)`, and `to_datasets()`): `<question>.responses`,
  `.responses.users` and `.responses.status` columns;
- nested records whose responses carry their `status`. Argilla 2.8's `dataset.records.to_json()` leaves the
  status out, so its drafts and discarded responses look submitted: such a file is refused, never guessed.
A prompt's candidate answers are one record: the `text` field lays them out numbered with the judge's scores
(which one it chose is text, never a suggestion), the `pick` LabelQuestion's labels are the numbers
("candidate 1" ...), the metadata `candidate_ids` / `candidate_versions` (comma-separated) say which record
each number is, and the edit box is suggested the judge's pick (left so, it is no edit of another pick).
Exports without candidates have none of these.

Reviewers are `argilla:<user id>` (the exports name users by id only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sftgen.decisions.log import combined_reason
from sftgen.review.interchange.types import ExportItem, InterchangeError, Proposed, judge_text, slug

DECISION, REASON, REASON_TEXT, EDITED, PICK = "decision", "reject_reason", "reason_text", "edited_text", "pick"
SUBMITTED = "submitted"
METADATA = ("kind", "subdomain", "review_status", "version_id")
CANDIDATE_METADATA = ("candidate_ids", "candidate_versions")
FIELDS = (("text", "The text to review", True), ("prompt", "The prompt it answers (answers)", False),
          ("passages", "The passages it was written from (answers)", False),
          ("judge", "The LLM judge's scores (for reference)", False))


def tasks(items: list[ExportItem], dimensions: list[str]) -> list[dict[str, Any]]:
    records = []
    with_candidates = any(item.candidates for item in items)
    for item in items:
        fields = {"text": item.text, "prompt": item.prompt, "passages": item.passages,
                  "judge": judge_text(item, dimensions)}
        records.append({
            "id": item.record_id,
            "fields": {name: value for name, value in fields.items() if value},  # Argilla refuses empty text
            "metadata": {"kind": item.kind, "subdomain": item.subdomain or "", "review_status": item.status,
                         "version_id": item.version_id},
            "suggestions": {EDITED: {"value": item.prefill(), "score": None, "agent": "sftgen-prefill"}},
            "responses": {},
            "vectors": {},
            "_server_id": None,
        })
        if with_candidates:
            records[-1]["metadata"].update(
                candidate_ids=",".join(c.record_id for c in item.candidates),
                candidate_versions=",".join(c.version_id for c in item.candidates))
    return records


def settings(dimensions: list[str], reasons: list[str], reviews_required: int = 1, candidates: int = 0) -> dict[str, Any]:
    """The dataset settings as `rg.Settings.serialize()` writes them; `candidates`: the most candidates of one
    prompt in the export (2 or more adds the `pick` question and the candidates' metadata)."""

    def question(name: str, title: str, required: bool, settings: dict[str, Any], description: str | None = None):
        return {"name": name, "title": title, "description": description, "required": required,
                "settings": settings, "type": settings["type"]}

    def labels(values: list[str]) -> dict[str, Any]:
        return {"type": "label_selection", "options": [{"text": value, "value": value} for value in values],
                "visible_options": None}

    return {
        "guidelines": "Accept, reject (pick a reason, say it in your words, or both) or edit the text (change "
                      "the suggested text and choose edit). For answers, rate each rubric scale 1-5.",
        "fields": [{"name": name, "title": title, "required": required, "description": None,
                    "settings": {"type": "text", "use_markdown": False}, "type": "text"}
                   for name, title, required in FIELDS],
        "questions": [
            question(DECISION, "Your decision", True, labels(["accept", "reject", "edit"])),
            question(REASON, "Why reject it (a listed reason)", False, labels(reasons)),
            question(REASON_TEXT, "Why reject it (in your words)", False, {"type": "text", "use_markdown": False}),
            question(EDITED, "The text as it should read", False, {"type": "text", "use_markdown": False}),
            *(question(f"score_{slug(d)}", f"{d} (answers only)", False,
                       {"type": "rating", "options": [{"value": score} for score in range(1, 6)]})
              for d in dimensions),
            *([question(PICK, "Which candidate is best (candidate answers only): pick it, then accept or edit it",
                        False, labels([f"candidate {n}" for n in range(1, candidates + 1)]))]
              if candidates >= 2 else []),
        ],
        "vectors": [],
        "metadata": [{"name": name, "title": name, "visible_for_annotators": True,
                      "settings": {"type": "terms", "values": None, "visible_for_annotators": True}}
                     for name in METADATA + (CANDIDATE_METADATA if candidates >= 2 else ())],
        "allow_extra_metadata": False,
        "distribution": {"strategy": "overlap", "min_submitted": reviews_required},
        "mapping": None,
    }


def write_settings(out: Path, dimensions: list[str], reasons: list[str], reviews_required: int = 1,
                   candidates: int = 0) -> None:
    path = out.with_name(out.name + ".settings.json")
    path.write_text(json.dumps(settings(dimensions, reasons, reviews_required, candidates), indent=1), encoding="utf-8")


# ---- reading ---------------------------------------------------------------------------------------


def decisions_from(records: list[dict[str, Any]], dimensions: list[str], path: Path | None = None) -> list[Proposed]:
    """Nested records (`Record.to_dict()` shape) whose responses carry a status."""
    answers_by_record = []
    for index, record in enumerate(records):
        by_user: dict[str, dict[str, Any]] = {}
        for question, responses in (record.get("responses") or {}).items():
            for response in responses or []:
                if "status" not in response:
                    raise InterchangeError(
                        f"{path}: record {record.get('id', index)}: a response without its status (Argilla's "
                        "dataset.records.to_json() leaves it out), so drafts and discarded responses cannot be "
                        "told from submitted ones; export with json.dump(dataset.records.to_list(flatten=True)) "
                        "or dataset.records.to_datasets().to_json(...) instead")
                if response["status"] == SUBMITTED:
                    by_user.setdefault(str(response.get("user_id")), {})[question] = response.get("value")
        answers_by_record.append((record, record.get("fields") or {}, record.get("metadata") or {}, by_user))
    return [proposal(record, fields, metadata, user, answers, dimensions, index)
            for index, (record, fields, metadata, by_user) in enumerate(answers_by_record)
            for user, answers in by_user.items()]


def is_flat_record(entry: Any) -> bool:
    return (isinstance(entry, dict) and "id" in entry and "fields" not in entry and "data" not in entry
            and "annotation_id" not in entry and ("version_id" in entry or any(str(key).endswith(".responses") for key in entry)))


def decisions_from_flat(records: list[dict[str, Any]], dimensions: list[str]) -> list[Proposed]:
    """Flat records: per question, parallel lists of response values, users and statuses."""
    proposed = []
    for index, record in enumerate(records):
        by_user: dict[str, dict[str, Any]] = {}
        for key in record:
            if not str(key).endswith(".responses"):
                continue
            question = key[: -len(".responses")]
            values = record.get(key) or []
            users = record.get(f"{key}.users") or []
            statuses = record.get(f"{key}.status") or [None] * len(values)
            for value, user, status in zip(values, users, statuses):
                if status == SUBMITTED:
                    by_user.setdefault(str(user), {})[question] = value
        fields = {name: record.get(name) for name, _, _ in FIELDS}
        proposed += [proposal(record, fields, record, user, answers, dimensions, index)
                     for user, answers in by_user.items()]
    return proposed


def proposal(record: dict[str, Any], fields: dict[str, Any], metadata: dict[str, Any], user: str,
             answers: dict[str, Any], dimensions: list[str], index: int) -> Proposed:
    by_slug = {slug(d): d for d in dimensions}
    scores = {
        by_slug.get(question[len("score_"):], question[len("score_"):]): value
        for question, value in answers.items() if question.startswith("score_") and value is not None
    }
    listed = answers.get(REASON)
    listed = listed[0] if isinstance(listed, list) and listed else listed
    return Proposed(
        where=f"record {record.get('id', index)} user {user}", record_id=record.get("id"),
        version_id=metadata.get("version_id"), reviewer=f"argilla:{user}", decision=answers.get(DECISION),
        reason=combined_reason(listed if isinstance(listed, str) else None, answers.get(REASON_TEXT)),
        edited_text=answers.get(EDITED), original_text=fields.get("text"), scores=scores, seconds=None,
        source="argilla", external_id=f"argilla:{record.get('id')}:{user}",
        pick=first(answers.get(PICK)), candidate_ids=split_ids(metadata.get("candidate_ids")),
        candidate_versions=split_ids(metadata.get("candidate_versions")),
    )


def first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def split_ids(value: Any) -> list[str]:
    return [part for part in value.split(",") if part] if isinstance(value, str) else []
