"""Drop duplicate prompts, exact, near (MinHash LSH) and semantic (embeddings + ANN).

A global step: it sees every new prompt at once and the prompts it kept in earlier runs. Those stay
kept; new prompts are checked against them and against each other. Among new prompts the one with the
smallest id is kept: the choice depends on the set of prompts only, not on the order in which the
upstream steps happened to finish, so reruns and other machines agree. A dropped prompt's meta
records `duplicate_of` (the kept prompt's id), `similarity` and `dedup_method`.
"""

from __future__ import annotations

import logging
from typing import Any

from sftgen.embed.cache import DEFAULT_MODEL_NAME
from sftgen.embed.errors import INSTALL_HINT, EmbedderUnavailable
from sftgen.records import Record, Status
from sftgen.core.step import GlobalStep
from sftgen.core.context import RunContext
from sftgen.store import ItemResult

log = logging.getLogger("sftgen.dedup")

DROP_REASONS = {"exact": "duplicate_exact", "near": "duplicate_near", "semantic": "duplicate_semantic"}
CLEARED_META = {"duplicate_of": None, "similarity": None, "dedup_method": None}


class DedupStep(GlobalStep):
    """Drop exact, near and semantic duplicate prompts, recording which prompt each one duplicates."""

    name = "dedup"
    consumes = "prompt"
    produces = "prompt"
    passes_input_on = True

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        settings: dict[str, Any] = ctx.recipe.dedup.model_dump()
        if "semantic" in ctx.recipe.dedup.methods:
            settings["embedder"] = DEFAULT_MODEL_NAME  # the name, without loading the model
        return settings

    def label(self, item: Record) -> str:
        return item.text[:80]

    def run_global(self, new_items: list[Record], kept_before: list[Record], ctx: RunContext) -> list[ItemResult]:
        new_ids = {item.id for item in new_items}
        anchors = [item for item in kept_before if item.id not in new_ids]  # redone items are new again
        ordered = anchors + sorted(new_items, key=lambda item: item.id)
        try:
            embedder = ctx.services.embedder() if "semantic" in ctx.recipe.dedup.methods else None
            from sftgen.dedup import find_duplicates  # numpy, datasketch: loaded when dedup runs

            report = find_duplicates([item.text for item in ordered], len(anchors), ctx.recipe.dedup, embedder)
        except (EmbedderUnavailable, ImportError) as exc:
            # Recorded on every input (the next run retries them); the rest of the pipeline goes on.
            detail = f"{exc}" if isinstance(exc, EmbedderUnavailable) else f"{exc}; {INSTALL_HINT}"
            return [ItemResult(item.id, Status.ERROR, reason="dedup_unavailable", detail=detail, label=self.label(item))
                    for item in new_items]
        log.info(
            "dedup: %d new prompts against %d kept before: %s", len(new_items), len(anchors),
            ", ".join(f"{m} {report.dropped_by(m)} in {s:.2f} s" for m, s in report.seconds.items()),
        )
        results = []
        for index in range(len(anchors), len(ordered)):
            item = ordered[index]
            duplicate = report.duplicates.get(index)
            if duplicate is None:
                results.append(ItemResult(item.id, Status.KEPT, label=self.label(item), meta_updates=dict(CLEARED_META)))
                continue
            kept = ordered[duplicate.of]
            results.append(ItemResult(
                item.id, Status.DROPPED,
                reason=DROP_REASONS[duplicate.method],
                detail=f"{duplicate.method} duplicate of {kept.id} (similarity {duplicate.similarity:.3f}): "
                f"{kept.text[:120]}",
                label=self.label(item),
                meta_updates={"duplicate_of": kept.id, "similarity": duplicate.similarity,
                              "dedup_method": duplicate.method},
            ))
        return results

