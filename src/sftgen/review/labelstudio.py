"""Label Studio: tasks in its JSON import format, a labeling config to paste into the project, and its
JSON export (tasks with `annotations[].result[]`) read back as decisions.

Label Studio gives imported tasks its own integer ids, so the sftgen record id travels in
`data.record_id` (and `meta`), which Label Studio keeps as it is and exports again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from sftgen.review.interchange import ExportItem, Proposed, slug

DECISION, REASON, REASON_TEXT, EDITED = "decision", "reject_reason", "reason_text", "edited_text"


def tasks(items: list[ExportItem], dimensions: list[str]) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        task: dict[str, Any] = {
            "data": {
                "record_id": item.record_id, "version_id": item.version_id, "kind": item.kind, "text": item.text,
                "prompt": item.prompt or "", "passages": item.passages, "subdomain": item.subdomain or "",
            },
            "meta": {"sftgen_record_id": item.record_id, "sftgen_version_id": item.version_id,
                     "review_status": item.status},
        }
        if item.llm_scores:  # the LLM judge's scores as a pre-annotation the expert can correct
            task["predictions"] = [{
                "model_version": "sftgen-llm-judge",
                "result": [
                    {"from_name": f"score_{slug(d)}", "to_name": "text", "type": "rating",
                     "value": {"rating": round(item.llm_scores[d])}}
                    for d in dimensions if d in item.llm_scores
                ],
            }]
        rows.append(task)
    return rows


def labeling_config(dimensions: list[str], reasons: list[str]) -> str:
    choices = "".join(f"<Choice value={quoteattr(reason)}/>" for reason in reasons)
    ratings = "\n".join(
        f'  <Header value={quoteattr(d)}/>\n  <Rating name="score_{slug(d)}" toName="text" maxRating="5"/>'
        for d in dimensions
    )
    return f"""<View>
  <Header value="$kind"/>
  <Text name="prompt" value="$prompt"/>
  <Text name="text" value="$text"/>
  <Text name="passages" value="$passages"/>
  <Choices name="{DECISION}" toName="text" choice="single" required="true">
    <Choice value="accept"/><Choice value="reject"/><Choice value="edit"/>
  </Choices>
  <Choices name="{REASON}" toName="text" choice="single">{choices}</Choices>
  <TextArea name="{REASON_TEXT}" toName="text" placeholder="reject reason in your words" maxSubmissions="1"/>
  <TextArea name="{EDITED}" toName="text" placeholder="edited text (for 'edit')" maxSubmissions="1"/>
  <!-- rubric scores: for answers -->
{ratings}
</View>
"""


def write_settings(out: Path, dimensions: list[str], reasons: list[str]) -> None:
    out.with_name(out.name + ".label_config.xml").write_text(labeling_config(dimensions, reasons), encoding="utf-8")


def annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    return f"labelstudio:{who}" if who is not None else "labelstudio"


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
            scores: dict[str, Any] = {}
            for region in annotation.get("result") or []:
                name, value = region.get("from_name"), region.get("value") or {}
                if region.get("type") == "choices" and value.get("choices"):
                    values[name] = value["choices"][0]
                elif region.get("type") == "textarea" and value.get("text"):
                    values[name] = "\n".join(value["text"])
                elif region.get("type") == "rating" and name and name.startswith("score_"):
                    key = name[len("score_"):]
                    scores[by_slug.get(key, key)] = value.get("rating")
            proposed.append(Proposed(
                where=f"task {task.get('id', index)} annotation {annotation.get('id', '?')}",
                record_id=record_id, version_id=data.get("version_id"), reviewer=annotator(annotation),
                decision=values.get(DECISION), reason=values.get(REASON_TEXT) or values.get(REASON),
                edited_text=values.get(EDITED), original_text=data.get("text"), scores=scores,
                seconds=annotation.get("lead_time"), source="labelstudio",
                external_id=f"labelstudio:{task.get('id', record_id)}:{annotation.get('id', index)}",
            ))
    return proposed
