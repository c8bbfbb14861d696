"""Argilla 2.x: records in the shape of `rg.Record.to_dict()` (what `dataset.records.to_json()` writes and
`rg.Record.from_dict()` reads): `id`, `fields`, `metadata`, `suggestions` {question: {value, score,
agent}}, `responses` {question: [{value, user_id[, status]}]}, `vectors`. A settings file next to it
lists the fields and questions for `rg.Settings`. Responses come back grouped per user: one decision
each; draft and discarded responses are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sftgen.review.interchange import ExportItem, Proposed, slug

DECISION, REASON, EDITED = "decision", "reject_reason", "edited_text"
TAKEN_STATUSES = {None, "submitted"}


def tasks(items: list[ExportItem], dimensions: list[str]) -> list[dict[str, Any]]:
    records = []
    for item in items:
        suggestions = {
            f"score_{slug(d)}": {"value": round(item.llm_scores[d]), "score": None, "agent": "sftgen-llm-judge"}
            for d in dimensions if d in item.llm_scores
        }
        records.append({
            "id": item.record_id,
            "fields": {"text": item.text, "prompt": item.prompt or "", "passages": item.passages},
            "metadata": {"kind": item.kind, "version_id": item.version_id, "subdomain": item.subdomain or "",
                         "review_status": item.status},
            "suggestions": suggestions,
            "responses": {},
            "vectors": {},
            "_server_id": None,
        })
    return records


def settings(dimensions: list[str], reasons: list[str]) -> dict[str, Any]:
    """The dataset settings the records fit (the names and types `rg.Settings` takes)."""
    return {
        "guidelines": "Accept, reject (with a reason) or edit the text; for answers, rate each rubric scale 1-5.",
        "fields": [
            {"name": "text", "type": "text", "required": True},
            {"name": "prompt", "type": "text", "required": False},
            {"name": "passages", "type": "text", "required": False},
        ],
        "questions": [
            {"name": DECISION, "type": "label_selection", "labels": ["accept", "reject", "edit"], "required": True},
            {"name": REASON, "type": "label_selection", "labels": reasons, "required": False},
            {"name": EDITED, "type": "text", "required": False},
            *({"name": f"score_{slug(d)}", "title": d, "type": "rating", "values": [1, 2, 3, 4, 5],
               "required": False} for d in dimensions),
        ],
        "metadata": [
            {"name": "kind", "type": "terms"}, {"name": "subdomain", "type": "terms"},
            {"name": "review_status", "type": "terms"},
        ],
    }


def write_settings(out: Path, dimensions: list[str], reasons: list[str]) -> None:
    path = out.with_name(out.name + ".settings.json")
    path.write_text(json.dumps(settings(dimensions, reasons), indent=1), encoding="utf-8")


def decisions_from(records: list[dict[str, Any]], dimensions: list[str]) -> list[Proposed]:
    by_slug = {slug(d): d for d in dimensions}
    proposed = []
    for index, record in enumerate(records):
        by_user: dict[str, dict[str, Any]] = {}
        for question, responses in (record.get("responses") or {}).items():
            for response in responses or []:
                if response.get("status") not in TAKEN_STATUSES:
                    continue
                by_user.setdefault(str(response.get("user_id")), {})[question] = response.get("value")
        metadata = record.get("metadata") or {}
        for user, answers in by_user.items():
            scores = {
                by_slug.get(question[len("score_"):], question[len("score_"):]): value
                for question, value in answers.items() if question.startswith("score_") and value is not None
            }
            reason = answers.get(REASON)
            proposed.append(Proposed(
                where=f"record {record.get('id', index)} user {user}", record_id=record.get("id"),
                version_id=metadata.get("version_id"), reviewer=f"argilla:{user}",
                decision=answers.get(DECISION), reason=reason[0] if isinstance(reason, list) and reason else reason,
                edited_text=answers.get(EDITED), original_text=(record.get("fields") or {}).get("text"),
                scores=scores, seconds=None, source="argilla", external_id=f"argilla:{record.get('id')}:{user}",
            ))
    return proposed
