"""Everything the report shows, as one JSON-ready dict (written as `metrics.json`), plus the data the
charts need that is too bulky for metrics.json (the 2-D maps, the full length lists)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sftgen.export.kept import kept_records
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.report.candidates import candidates_section
from sftgen.report.coverage import meta_spread, subdomain_coverage
from sftgen.report.diversity import DEFAULT_SAMPLE, diversity_metrics, embedding_map, sampled_set
from sftgen.report.funnel import record_counts, step_funnel
from sftgen.report.metrics.lexical import tokens
from sftgen.report.metrics.semantic import copy_check
from sftgen.report.reference import read_reference
from sftgen.report.scores import review_section

DEFAULT_COPY_THRESHOLD = 0.1
"""Cosine distance below which a generated prompt counts as a near copy of a reference prompt."""


@dataclass
class ReportOptions:
    reference: Path | None = None
    sample_size: int = DEFAULT_SAMPLE
    copy_threshold: float = DEFAULT_COPY_THRESHOLD
    semantic: bool = True
    """False: no embedder is loaded and the semantic metrics are left out."""


@dataclass
class ReportData:
    metrics: dict[str, Any]
    maps: dict[str, Any]
    lengths: dict[str, list[int]]


def collect_report(project: Project, options: ReportOptions, embedder=None) -> ReportData:
    """Reads the store (and the reference file) and computes every section. `embedder`: loaded when None
    and `options.semantic`."""
    reference_texts = read_reference(options.reference) if options.reference else None  # fail before work
    missing_embedder = None
    if embedder is None and options.semantic:
        from sftgen.embed import EmbedderUnavailable, load_embedder

        try:
            embedder = load_embedder()
        except EmbedderUnavailable as exc:  # the lexical metrics still stand on their own
            missing_embedder = str(exc)
    recipe = project.recipe
    pipeline = standard_pipeline(recipe)
    store = project.store()
    try:
        prompts = list(kept_records(store, pipeline, "prompt"))
        answers = list(kept_records(store, pipeline, "answer"))
        # The answers as made carry the judge's scores (answer_eval writes them into their meta), dropped ones
        # too; only their metas are read.
        makers = [step.name for step in pipeline.makers("answer")]
        judged = [answer for answer in store.emits.emitted_without_text(makers, "answer") if answer.meta.get("scores")]
        metrics: dict[str, Any] = {
            "project": recipe.project, "domain": recipe.domain.name, "generated_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "sample_size": options.sample_size, "embedder": getattr(embedder, "name", None),
            "embedder_missing": missing_embedder,
            "counts": {"prompts": len(prompts), "answers": len(answers), "records": record_counts(store)},
            "funnel": step_funnel(store, pipeline.names),
            "coverage": {**subdomain_coverage(store, recipe, pipeline, prompts), "meta": meta_spread(prompts)},
            "review": review_section(store, pipeline, recipe, judged),
            "candidates": candidates_section(store, pipeline, recipe, judged, passed_on=answers),
        }
    finally:
        store.close()
    prompt_texts = [p.text for p in prompts]
    prompt_set = sampled_set("prompts", prompt_texts, [p.meta.get("subdomain") or "(none)" for p in prompts],
                             options.sample_size, embedder)
    answer_set = sampled_set("answers", [a.text for a in answers], None, options.sample_size, embedder)
    metrics["diversity"] = {"prompts": diversity_metrics(prompt_set), "answers": diversity_metrics(answer_set)}
    maps = {"prompts": embedding_map(prompt_set)}
    lengths = {"prompts": [len(tokens(t)) for t in prompt_texts], "answers": [len(tokens(a.text)) for a in answers]}
    if reference_texts is not None:
        metrics["reference"] = compare_with_reference(prompt_texts, prompt_set, reference_texts, options, embedder)
        lengths["reference"] = [len(tokens(t)) for t in reference_texts]
    return ReportData(metrics, maps, lengths)


def compare_with_reference(prompt_texts: list[str], prompt_set, reference_texts: list[str],
                           options: ReportOptions, embedder) -> dict[str, Any]:
    """The same metrics on equal-size samples of both sides (distinct-n and distances depend on the set's
    size), and the copy check of the generated sample against the whole reference."""
    size = min(options.sample_size, len(prompt_texts), len(reference_texts))
    generated = sampled_set("generated", prompt_texts, None, size, embedder)
    reference = sampled_set("reference", reference_texts, None, size, embedder)
    result: dict[str, Any] = {
        "path": str(options.reference), "total": len(reference_texts), "compared_sample_size": size,
        "generated": diversity_metrics(generated), "reference": diversity_metrics(reference),
    }
    if embedder is not None and prompt_set.vectors is not None:
        everything = embedder.encode(reference_texts)
        result["copy_check"] = copy_check(prompt_set.vectors, everything, options.copy_threshold)
    return result
