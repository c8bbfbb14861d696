"""`sftgen export --what sft`: kept prompt-answer pairs as chat `messages` (the format TRL's SFTTrainer
and most fine-tuning tools read), each row with its citations, rubric scores and provenance ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sftgen.answers.choice import is_chosen
from sftgen.records import Record
from sftgen.core.graph import Pipeline
from sftgen.export.kept import kept_records
from sftgen.export.reads import Ancestry, batches
from sftgen.store import Store


def sft_rows(store: Store, pipeline: Pipeline, recipe: Any = None, all_candidates: bool = False) -> Iterator[dict[str, Any]]:
    """One row per prompt: its kept chosen answer (with `all_candidates`, one per kept candidate answer); the
    system message is the recipe's `answers.system_prompt`, if any."""
    system_prompt = recipe.answers.system_prompt if recipe is not None else None
    candidates = recipe is not None and recipe.answers.candidates > 1
    reads = ProvenanceReads(store)
    for batch in batches(kept_records(store, pipeline, "answer")):
        answers = [answer for answer in batch if all_candidates or is_chosen(answer)]
        prompts = reads.load(answers)
        for answer in answers:
            prompt = prompts.get(answer.meta.get("prompt_id", ""))
            if prompt is None:
                continue
            row = sft_row(prompt, answer, system_prompt, reads.provenance_ids(prompt, answer))
            if candidates:
                row["candidate_index"] = answer.meta.get("candidate_index", 0)
                row["chosen"] = is_chosen(answer)
            yield row


def sft_row(prompt: Record, answer: Record, system_prompt: str | None, provenance: dict[str, Any]) -> dict[str, Any]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages += [{"role": "user", "content": prompt.text}, {"role": "assistant", "content": answer.text}]
    meta = answer.meta
    return {
        "id": answer.id,
        "messages": messages,
        "prompt_id": prompt.id,
        "answer_id": answer.id,
        "subdomain": prompt.meta.get("subdomain"),
        "rag": bool(meta.get("rag")),
        "citations": meta.get("citations") or [],
        "scores": meta.get("scores") or None,  # an edited answer has no judge's scores (the edit was not judged)
        "score_mean": meta.get("score_mean"),
        "needs_review": bool(meta.get("needs_review", False)),
        "provenance": provenance,
    }


class ProvenanceReads:
    """The prompts, passages and prompt ancestors of a batch of answers, read in a few queries."""

    def __init__(self, store: Store):
        self.store = store
        self.ancestry = Ancestry(store.lookups)
        self.passages: dict[str, dict[str, Any]] = {}

    def load(self, answers: list[Record]) -> dict[str, Record]:
        """The answers' prompts by id (those that exist); their passages and ancestors are read too."""
        prompts = self.store.lookups.records((answer.meta.get("prompt_id", "") for answer in answers))
        self.passages = self.store.lookups.metas((passage_id for answer in answers
                                                      for passage_id in answer.meta.get("passage_ids", [])))
        self.ancestry.load(prompt.parent_ids for prompt in prompts.values())
        return prompts

    def provenance_ids(self, prompt: Record, answer: Record) -> dict[str, Any]:
        """The ids to walk back from the pair: passages, the pages and queries they came from, and the
        prompt's own ancestry (profile, chunk, document)."""
        passage_ids = list(answer.meta.get("passage_ids", []))
        page_ids, query_ids = [], []
        for passage_id in passage_ids:
            passage = self.passages.get(passage_id)
            if passage is None:
                continue
            page_id = passage.get("document_id")
            if page_id and page_id not in page_ids:
                page_ids.append(page_id)
            query_id = passage.get("query_id")
            if query_id and query_id not in query_ids:
                query_ids.append(query_id)
        lineage = [{"id": prompt.id, "kind": prompt.kind, "step": prompt.step}]
        lineage += [{"id": a.id, "kind": a.kind, "step": a.step} for a in self.ancestry.ancestors(prompt.id, prompt.parent_ids)]
        return {"passage_ids": passage_ids, "page_ids": page_ids, "query_ids": query_ids, "prompt_lineage": lineage}

