"""Label Studio: tasks in its JSON import format, a labeling config to paste into the project, and its
exports read back as decisions: JSON (tasks with `annotations[].result[]`), JSON-MIN and CSV (one row per
annotation, a column per control).

Label Studio gives imported tasks its own integer ids, so the sftgen record id travels in `data.record_id`
(and `meta`), which Label Studio keeps as it is and exports again.

The layout labels every part (headings are task data, empty where a part does not apply) and shows the
rubric only on answers: the scores are choices whose options come from the task (`score_options`, empty on
prompts). The LLM judge's scores are shown as text, never sent as predictions: Label Studio starts each
annotation from the predictions, so an untouched predicted score would come back as the expert's. The edit
box starts from the text (a prediction of the `edited_text` control): left as it is, it is no edit. A region
whose `origin` is `prediction` (the JSON export says so) is never read as the expert's.

A prompt's candidate answers are one task: `text` lays them out numbered with the judge's scores (and which
one the judge chose, as text: a predicted pick left as it was would come back as the expert's), the `pick`
control's options come from the task (`pick_options`, empty elsewhere), `candidate_ids` / `candidate_versions`
say which record each number is, and the edit box starts from the judge's pick (left so, it is no edit of
another candidate picked).

Reviewers: an annotation's `completed_by` is a bare user id in Label Studio's plain export; exported with
`serialization_options: {"annotations__completed_by": {"only_id": false}}` (the export snapshot API) it
carries the user's email, which JSON-MIN and CSV then name as `annotator`. The email (else the username) is
the reviewer, the name the review app's reviewers use too; a bare id becomes `labelstudio:<id>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from sftgen.decisions.log import combined_reason
from sftgen.review.interchange.types import ExportItem, Proposed, judge_text, slug


DECISION, REASON, REASON_TEXT, EDITED, PICK = "decision", "reject_reason", "reason_text", "edited_text", "pick"
SCORE_OPTIONS = [{"value": str(score)} for score in range(1, 6)]
PREDICTED = "prediction"
"""A region's origin when the annotator left a prediction as it was (`prediction-changed` once edited)."""
PER_ANNOTATION = ("annotation_id", "annotator", "created_at", "updated_at", "lead_time")
"""The columns Label Studio's JSON-MIN and CSV exports add to the task data of each annotation."""


def tasks(items: list[ExportItem], dimensions: list[str]) -> list[dict[str, Any]]:
    with_candidates = any(item.candidates for item in items)
    return [task_of(item, dimensions, with_candidates) for item in items]


def task_of(item: ExportItem, dimensions: list[str], with_candidates: bool = False) -> dict[str, Any]:
    answer = item.kind == "answer"
    several = bool(item.candidates)
    data: dict[str, Any] = {
        "record_id": item.record_id, "version_id": item.version_id, "kind": item.kind, "subdomain": item.subdomain or "",
        "heading": (f"{len(item.candidates)} candidate answers: pick the best (or reject all)" if several
                    else f"{item.kind.capitalize()} to review") + (f" ({item.subdomain})" if item.subdomain else ""),
        "text": item.text,
        "prompt_heading": "The prompt it answers" if answer else "", "prompt": item.prompt or "",
        "passages_heading": "The passages it was written from" if answer and item.passages else "",
        "passages": item.passages,
        "judge_heading": "The LLM judge's scores (for reference)" if item.llm_scores else "",
        "judge": judge_text(item, dimensions),
        "rating_heading": "Your scores, 1 (poor) to 5 (excellent)" if answer else "",
        "score_options": SCORE_OPTIONS if answer else [],
        **{f"score_label_{slug(d)}": d if answer else "" for d in dimensions},
    }
    if with_candidates:
        data.update(
            candidates_heading="Which candidate is best? Pick it, then accept it, or edit it below and choose edit"
            if several else "",
            pick_options=[{"value": f"candidate {c.number}"} for c in item.candidates],
            candidate_ids=[c.record_id for c in item.candidates],
            candidate_versions=[c.version_id for c in item.candidates],
        )
    return {
        "data": data,
        "meta": {"sftgen_record_id": item.record_id, "sftgen_version_id": item.version_id,
                 "review_status": item.status},
        # The edit box starts from the text; untouched, it equals the text and is no edit.
        "predictions": [{"model_version": "sftgen-prefill", "result": [
            {"from_name": EDITED, "to_name": "text", "type": "textarea", "value": {"text": [item.prefill()]}}]}],
    }


def labeling_config(dimensions: list[str], reasons: list[str], candidates: int = 0) -> str:
    choices = "".join(f"<Choice value={quoteattr(reason)}/>" for reason in reasons)
    ratings = "\n".join(
        f'  <Header value="$score_label_{slug(d)}" size="6"/>\n'
        f'  <Choices name="score_{slug(d)}" toName="text" value="$score_options" choice="single-radio" '
        f'showInline="true"/>'
        for d in dimensions
    )
    return f"""<View>
  <Style>.sftgen-part {{ white-space: pre-wrap; }}</Style>
  <Header value="$heading"/>
  <View className="sftgen-part"><Text name="text" value="$text"/></View>
  <Header value="$prompt_heading" size="5"/>
  <View className="sftgen-part"><Text name="prompt" value="$prompt"/></View>
  <Header value="$passages_heading" size="5"/>
  <View className="sftgen-part"><Text name="passages" value="$passages"/></View>
  <Header value="$judge_heading" size="5"/>
  <View className="sftgen-part"><Text name="judge" value="$judge"/></View>
{pick_control(candidates)}  <Header value="Your decision"/>
  <Choices name="{DECISION}" toName="text" choice="single-radio" showInline="true" required="true">
    <Choice value="accept"/><Choice value="reject"/><Choice value="edit"/>
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="{DECISION}" whenChoiceValue="reject">
    <Header value="Why reject it: pick a reason, say it in your words, or both" size="5"/>
    <Choices name="{REASON}" toName="text" choice="single-radio" showInline="true">{choices}</Choices>
    <TextArea name="{REASON_TEXT}" toName="text" placeholder="the reason in your words" maxSubmissions="1" editable="true"/>
  </View>
  <Header value="The text as it should read (change it and choose edit)" size="5"/>
  <TextArea name="{EDITED}" toName="text" rows="5" maxSubmissions="1" editable="true"/>
  <Header value="$rating_heading"/>
{ratings}
</View>
"""


def pick_control(candidates: int) -> str:
    if candidates < 2:
        return ""
    return (f'  <Header value="$candidates_heading"/>\n'
            f'  <Choices name="{PICK}" toName="text" value="$pick_options" choice="single-radio" showInline="true"/>\n')


def write_settings(out: Path, dimensions: list[str], reasons: list[str], reviews_required: int = 1,
                   candidates: int = 0) -> None:
    """The labeling config (with `reviews_required` > 1, set the project's overlap to match in Label Studio);
    `candidates`: the most candidates of one prompt in the export (2 or more adds the pick control)."""
    out.with_name(out.name + ".label_config.xml").write_text(labeling_config(dimensions, reasons, candidates),
                                                             encoding="utf-8")


def reviewer_of(who: Any) -> str:
    """The email (else username) of Label Studio's user; a bare id, namespaced, when that is all there is."""
    if isinstance(who, dict):
        name = who.get("email") or who.get("username")
        if name:
            return str(name)
        who = who.get("id")
    if isinstance(who, str) and who.strip() and not who.strip().isdigit():
        return who.strip()
    if who is None or (isinstance(who, str) and not who.strip()):
        return "labelstudio"
    return f"labelstudio:{who}"


# ---- the JSON export -------------------------------------------------------------------------------


def decisions_from(exported: list[dict[str, Any]], dimensions: list[str]) -> list[Proposed]:
    by_slug = {slug(d): d for d in dimensions}
    proposed = []
    for index, task in enumerate(exported):
        data = task.get("data") or {}
        record_id = data.get("record_id") or (task.get("meta") or {}).get("sftgen_record_id")
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            values: dict[str, Any] = {}
            for region in annotation.get("result") or []:
                if region.get("origin") == PREDICTED:
                    continue  # left as the prediction had it: not the expert's
                name, value = region.get("from_name"), region.get("value") or {}
                if region.get("type") == "choices" and value.get("choices"):
                    values[name] = value["choices"][0]
                elif region.get("type") == "textarea" and value.get("text"):
                    values[name] = "\n".join(value["text"])
                elif region.get("type") == "rating" and "rating" in value:
                    values[name] = value["rating"]
            proposed.append(proposal(
                values, by_slug, record_id, data, reviewer_of(annotation.get("completed_by")),
                seconds=annotation.get("lead_time"), task_id=task.get("id", index),
                annotation_id=annotation.get("id", index),
            ))
    return proposed


# ---- JSON-MIN and CSV: one row per annotation ------------------------------------------------------


def is_min_row(entry: Any) -> bool:
    return isinstance(entry, dict) and "annotation_id" in entry and "record_id" in entry and "data" not in entry


def decisions_from_rows(rows: list[dict[str, Any]], dimensions: list[str], source: str) -> list[Proposed]:
    """Label Studio's JSON-MIN rows (values as JSON) or CSV rows (every value a string; lists as JSON text)."""
    by_slug = {slug(d): d for d in dimensions}
    controls = {DECISION, REASON, REASON_TEXT, EDITED, PICK} | {f"score_{key}" for key in by_slug}
    proposed = []
    for index, row in enumerate(rows):
        if row.get("annotation_id") in (None, ""):
            continue  # a task nobody annotated
        values = {}
        for name in controls:
            value = from_cell(row.get(name), source)
            if value not in (None, "", []):
                values[name] = value
        proposed.append(proposal(
            values, by_slug, row.get("record_id") or None, row, reviewer_of(row.get("annotator")),
            seconds=number(row.get("lead_time")), task_id=row.get("id", index), annotation_id=row["annotation_id"],
        ))
    return proposed


def from_cell(value: Any, source: str) -> Any:
    """A control's value as JSON-MIN writes it (a string for one choice or text, else a list of region
    values), from JSON or from a CSV cell (where anything but a string is JSON text)."""
    if source == "csv" and isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            value = json.loads(value)
        except ValueError:
            pass  # a text that merely starts with a bracket
    if isinstance(value, list):
        if not value:
            return None
        first = value[0]
        if isinstance(first, dict):
            if "rating" in first:
                return first["rating"]
            if first.get("choices"):
                return first["choices"][0]
            if isinstance(first.get("text"), list):
                return "\n".join(first["text"])
        return first
    return value


def number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def proposal(values: dict[str, Any], by_slug: dict[str, str], record_id: str | None, data: dict[str, Any],
             reviewer: str, seconds: Any, task_id: Any, annotation_id: Any) -> Proposed:
    scores = {}
    for name, value in values.items():
        if isinstance(name, str) and name.startswith("score_"):
            key = name[len("score_"):]
            scores[by_slug.get(key, key)] = value
    return Proposed(
        where=f"task {task_id} annotation {annotation_id}", record_id=record_id, version_id=data.get("version_id"),
        reviewer=reviewer, decision=values.get(DECISION),
        reason=combined_reason(values.get(REASON), values.get(REASON_TEXT)),
        edited_text=values.get(EDITED), original_text=data.get("text"), scores=scores,
        seconds=number(seconds), source="labelstudio", external_id=f"labelstudio:{record_id}:{annotation_id}",
        pick=values.get(PICK), candidate_ids=id_list(data.get("candidate_ids")),
        candidate_versions=id_list(data.get("candidate_versions")),
    )


def id_list(value: Any) -> list[str]:
    """A task's list of ids as JSON, JSON-MIN (a list) or CSV (JSON text) give it back."""
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(item) for item in value] if isinstance(value, list) else []
