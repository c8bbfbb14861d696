"""Drop duplicate prompts, exact, near (MinHash LSH) and semantic (embeddings + ANN).

A global step: it sees every new prompt at once and the prompts it kept in earlier runs. Those stay
kept; new prompts are checked against them and against each other. Among new prompts the one with the
smallest id is kept: the choice depends on the set of prompts only, not on the order in which the
upstream steps happened to finish, so reruns and other machines agree. A dropped prompt's meta
records `duplicate_of` (the kept prompt's id), `similarity` and `dedup_method`.

What dedup needs of the prompts it kept (normalised text, content words, MinHash values, embedding, and the
document frequencies of the words) is kept in the dedup index, `.sftgen/dedup/anchors.db`
(sftgen.dedup.index), so a run hashes and embeds only its new prompts. The content check's IDF is over the
same texts as without the index (the prompts kept before and all of this run's new ones), taken from the
stored counts, so the decisions are the same as a run that reads every kept prompt again; as before, a
prompt dropped in an earlier run is not counted, so how prompts were split over runs can move a weight.

With `dedup.verifier: llm` the run's LLM judges the semantic look-alikes (sftgen.dedup.verifier); its
requests are counted on the prompt each question is about. A kept prompt records in its meta what the
verifier could not settle: `dedup_unverified` (look-alikes left unasked when the pair budget ran out) and
`dedup_verifier_error` (a question that got no usable reply; the prompt is kept).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from sftgen.embed.cache import DEFAULT_MODEL_NAME
from sftgen.embed.errors import INSTALL_HINT, EmbedderUnavailable
from sftgen.records import Record, Status
from sftgen.core.step import GlobalStep
from sftgen.core.context import RunContext
from sftgen.store import ItemResult

log = logging.getLogger("sftgen.dedup")

DROP_REASONS = {"exact": "duplicate_exact", "near": "duplicate_near", "semantic": "duplicate_semantic",
                "verified": "duplicate_verified"}
CLEARED_META = {"duplicate_of": None, "similarity": None, "dedup_method": None, "dedup_unverified": None,
                "dedup_verifier_error": None}


class DedupStep(GlobalStep):
    """Drop exact, near and semantic duplicate prompts, recording which prompt each one duplicates."""

    name = "dedup"
    consumes = "prompt"
    produces = "prompt"
    passes_input_on = True

    def __init__(self, upstream: list[str] | None = None, verifier: bool = False):
        super().__init__(upstream)
        self.uses_llm = verifier  # `dedup.verifier: llm`: the run needs its LLM even when no other step does

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        settings: dict[str, Any] = ctx.recipe.dedup.model_dump()
        if "semantic" in ctx.recipe.dedup.methods:
            settings["embedder"] = DEFAULT_MODEL_NAME  # the name, without loading the model
        if ctx.recipe.dedup.verifier == "llm":
            settings["verifier"] = verifier_settings(ctx)
        return settings

    def uses_embedder(self, ctx: RunContext) -> bool:
        return "semantic" in ctx.recipe.dedup.methods

    def label(self, item: Record) -> str:
        return item.text[:80]

    async def run_global(self, new_items: list[Record], kept_before: list[Record], ctx: RunContext) -> list[ItemResult]:
        new_ids = {item.id for item in new_items}
        anchors = [item for item in kept_before if item.id not in new_ids]  # redone items are new again
        ordered = anchors + sorted(new_items, key=lambda item: item.id)
        dedup_index = None
        try:
            embedder = ctx.services.embedder() if "semantic" in ctx.recipe.dedup.methods else None
            from sftgen.dedup.core import check_new  # numpy, datasketch: loaded when dedup runs
            from sftgen.dedup.corpus import Corpus

            dedup_index = open_index(ctx, embedder)
            features = anchor_features(dedup_index, anchors)
            corpus = Corpus([item.text for item in ordered], len(anchors), ctx.recipe.dedup, embedder, features)
            counters = {index: ctx.item(self.name) for index in range(len(anchors), len(ordered))}
            notes: dict[int, dict[str, Any]] = {}
            if ctx.recipe.dedup.verifier == "llm":
                report = await find_verified(corpus, ctx, counters, notes, ordered)
            else:
                report = check_new(corpus, ctx.recipe.dedup)
            remember_kept(dedup_index, corpus, ordered, report)
        except (EmbedderUnavailable, VerifierUnavailable, ImportError) as exc:
            # Recorded on every input (the next run retries them); the rest of the pipeline goes on.
            detail = f"{exc}" if not isinstance(exc, ImportError) else f"{exc}; {INSTALL_HINT}"
            return [ItemResult(item.id, Status.ERROR, reason="dedup_unavailable", detail=detail, label=self.label(item))
                    for item in new_items]
        finally:
            if dedup_index is not None:
                dedup_index.close()
        log.info(
            "dedup: %d new prompts against %d kept before: %s", len(new_items), len(anchors),
            ", ".join(f"{m} {report.dropped_by(m)} in {s:.2f} s" for m, s in report.seconds.items()),
        )
        results = []
        for index in range(len(anchors), len(ordered)):
            item = ordered[index]
            duplicate = report.duplicates.get(index)
            spent = counted(counters[index])
            if duplicate is None:
                results.append(ItemResult(item.id, Status.KEPT, label=self.label(item),
                                          meta_updates={**cleared(item), **notes.get(index, {})}, **spent))
                continue
            kept = ordered[duplicate.of]
            results.append(ItemResult(
                item.id, Status.DROPPED,
                reason=DROP_REASONS[duplicate.method],
                detail=f"{duplicate.method} duplicate of {kept.id} (similarity {duplicate.similarity:.3f}): "
                f"{kept.text[:120]}",
                label=self.label(item),
                meta_updates={**cleared(item), "duplicate_of": kept.id, "similarity": duplicate.similarity,
                              "dedup_method": duplicate.method},
                **spent,
            ))
        return results


def cleared(item: Record) -> dict[str, None]:
    """The dedup keys an earlier run left in the prompt's meta, to be removed: only those, so a prompt with
    none (most of them) has no meta to merge (the store would read its meta to change nothing)."""
    return {key: None for key in CLEARED_META if key in item.meta}


# ---- the dedup index (sftgen.dedup.index): the kept prompts' features, so only new prompts are embedded ----


def open_index(ctx: RunContext, embedder):
    """The project's dedup index, or None when it cannot be opened (then the kept prompts are read again)."""
    from sftgen.dedup.index import DedupIndex

    try:
        return DedupIndex(ctx.project_dir / ".sftgen" / "dedup", ctx.recipe.dedup, embedder)
    except (sqlite3.Error, OSError) as exc:
        log.warning("dedup index unavailable (%s): every kept prompt is read again", exc)
        return None


def anchor_features(index, anchors: list[Record]):
    if index is None:
        return None
    try:
        return index.anchor_features([item.id for item in anchors], [item.text for item in anchors])
    except (sqlite3.Error, OSError) as exc:
        log.warning("dedup index unreadable (%s): every kept prompt is read again", exc)
        return None


def remember_kept(index, corpus, ordered: list[Record], report) -> None:
    """Add the prompts kept in this run to the index (before the executor commits them: a row whose prompt
    was not committed is removed on the next run)."""
    if index is None:
        return
    from sftgen.dedup.index import row_of

    try:
        index.add([row_of(ordered[i].id, ordered[i].text, *corpus.new_features(i))
                   for i in range(corpus.n_anchors, len(ordered)) if i not in report.duplicates])
    except (sqlite3.Error, OSError) as exc:
        log.warning("dedup index not updated (%s): the next run reads the prompts kept now again", exc)


# ---- the LLM verifier (`dedup.verifier: llm`, sftgen.dedup.verifier) ------------------------------------


class VerifierUnavailable(Exception):
    pass


def verifier_settings(ctx: RunContext) -> dict[str, Any]:
    from sftgen.dedup.verifier import TEMPLATE, verdict_schema

    schema = verdict_schema(ctx.recipe.dedup.verifier_candidates).model_json_schema()
    return {"template": ctx.templates.fingerprint(TEMPLATE), "schema": schema, "model": ctx.llm_identity}


async def find_verified(corpus, ctx: RunContext, counters: dict, notes: dict[int, dict[str, Any]],
                        ordered: list[Record]):
    """The verifier's requests are sent with, and counted on, the prompt each question is about; what it
    left unsettled goes into `notes` (meta updates by index) and the log."""
    from sftgen.dedup.core import check_new_verified
    from sftgen.dedup.verifier import TEMPLATE, llm_judge
    from sftgen.llm.client import LLMError

    if ctx.llm is None:
        raise VerifierUnavailable("dedup.verifier: llm needs an LLM, and this run has none")
    failures: dict[int, list[str]] = {}

    async def ask(about: int, variables: dict[str, Any], schema):
        try:
            return await counters[about].ask(TEMPLATE, variables, schema, temperature=0.0)
        except LLMError as exc:  # no usable verdict: counted as "not the same" (the prompt is kept)
            failures.setdefault(about, []).append(f"{exc.reason}: {exc.detail}"[:300])
            return None

    report, verdicts = await check_new_verified(corpus, ctx.recipe.dedup, llm_judge(ask),
                                                concurrency=ctx.llm_concurrency)
    for verdict in verdicts:
        errors = iter(failures.get(verdict.question.index, []))
        for order, answer in enumerate(verdict.answers):
            if answer is not None:
                continue
            others = ([c.other for c in verdict.question.candidates] if order == 0
                      else [verdict.question.candidates[verdict.answers[0] - 1].other])
            notes.setdefault(verdict.question.index, {})["dedup_verifier_error"] = {
                "with": [ordered[o].id for o in others], "order": "asked" if order == 0 else "reversed",
                "error": next(errors, "no usable reply")}
    for question in report.unasked:
        notes.setdefault(question.index, {})["dedup_unverified"] = [ordered[c.other].id for c in question.candidates]
    if failures:
        log.warning("dedup verifier: %d prompts got no usable verdict and are kept (meta dedup_verifier_error)",
                    len(failures))
    if report.unasked:
        log.warning("dedup verifier: the pair budget (dedup.verifier_max_pairs %s) was spent; %d prompts with "
                    "%d look-alikes left unasked are kept (meta dedup_unverified)", ctx.recipe.dedup.verifier_max_pairs,
                    len(report.unasked), sum(len(q.candidates) for q in report.unasked))
    return report


def counted(counter) -> dict[str, int]:
    return {"llm_requests": counter.llm_requests, "cache_hits": counter.cache_hits,
            "prompt_tokens": counter.prompt_tokens, "completion_tokens": counter.completion_tokens}
