"""What the review page shows for one item: its current version and history, and for an answer its
prompt, citations, retrieved passages and the LLM judge's scores."""

from __future__ import annotations

from typing import Any

from sftgen.recipe import Recipe
from sftgen.decisions.policy import llm_scores
from sftgen.review.queue import QueueItem
from sftgen.store import Store

DEFAULT_RUBRIC = ["style", "domain correspondence", "context relevance"]
HIDDEN_META = {"llm_cache_keys", "scores", "citations", "edited_from", "original_id"}


def rubric_dimensions(recipe: Recipe) -> list[str]:
    """The recipe's answer rubric (answers.rubric) when it has one, else the default scales."""
    answers = getattr(recipe, "answers", None)
    rubric = getattr(answers, "rubric", None)
    return [dimension.name for dimension in rubric] if rubric else list(DEFAULT_RUBRIC)


def item_view(store: Store, item: QueueItem, recipe: Recipe) -> dict[str, Any]:
    if item.candidates:
        return candidates_view(store, item, recipe)
    current = store.get(item.state.version_id) or item.record
    view: dict[str, Any] = {
        "item": item,
        "current": current,
        "meta": {k: v for k, v in current.meta.items() if k not in HIDDEN_META and not isinstance(v, (dict, list))},
        "decisions": item.state.decisions,
        "llm_scores": {k: {"score": v, "why": why_of(current, k)} for k, v in llm_scores(current).items()},
    }
    if item.kind == "answer":
        prompt_id = current.meta.get("prompt_id")
        view["prompt"] = store.get(prompt_id) if prompt_id else None
        view["citations"] = citations_of(current)
        view["passages"] = passages_of(store, current, view["citations"])
        view["rubric"] = rubric_dimensions(recipe)
    return view


def why_of(record, dimension: str) -> str:
    value = (record.meta.get("scores") or {}).get(dimension)
    return value.get("why", "") if isinstance(value, dict) else ""


def citations_of(answer) -> list[dict[str, Any]]:
    citations = answer.meta.get("citations") or []
    return [citation for citation in citations if isinstance(citation, dict)]


def passages_of(store: Store, answer, citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The passages the answer was written from: the cited ones, then any other passage among its parents."""
    cited = {c.get("passage_id"): c.get("n") for c in citations if c.get("passage_id")}
    ids = list(cited) + [pid for pid in answer.parent_ids if pid not in cited]
    passages = []
    for passage_id in ids:
        record = store.get(passage_id)
        if record is None or record.kind != "passage":
            continue
        passages.append({"n": cited.get(passage_id), "record": record, "url": record.meta.get("url"),
                         "title": record.meta.get("title")})
    return passages


def candidates_view(store: Store, item: QueueItem, recipe: Recipe) -> dict[str, Any]:
    """A prompt's candidates side by side: each one's current version, passages and the judge's scores,
    which one is chosen now (and by whom), and the pick in force."""
    candidates = []
    for number, member in enumerate(item.candidates, 1):
        view = item_view(store, QueueItem(member.record, member.state, member.subdomain), recipe)
        current = view["current"]
        view.update(number=number, chosen=current.meta.get("chosen"), chosen_by=current.meta.get("chosen_by"),
                    judge_chosen=current.meta.get("judge_chosen"), chosen_reason=current.meta.get("chosen_reason"),
                    score_mean=mean_score(view["llm_scores"]))
        candidates.append(view)
    prompt_id = item.record.meta.get("prompt_id")
    picked = next((d.item_id for d in reversed(item.state.decisions) if d.picked), None)
    return {
        "item": item, "current": item.record, "meta": {}, "decisions": item.state.decisions, "llm_scores": {},
        "prompt": store.get(prompt_id) if prompt_id else None, "candidates": candidates,
        "rubric": rubric_dimensions(recipe), "picked": picked,
    }


def mean_score(scores: dict[str, dict[str, Any]]) -> float | None:
    values = [value["score"] for value in scores.values()]
    return round(sum(values) / len(values), 2) if values else None
