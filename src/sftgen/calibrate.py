"""`sftgen calibrate DIR SAMPLE`: fit the chunk filter's relevance band on a labelled sample and say what
it buys: precision, recall and F1 of the score alone, of the score with the LLM judging the band, and the
LLM requests that saves. It writes nothing: it prints the `relevance:` lines to put in the recipe."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sftgen.project import Project
from sftgen.relevance.band import Scores
from sftgen.relevance.calibration import DEFAULT_PURITY, Calibration, calibrate, gate_with_llm
from sftgen.relevance.sample import Sample, read_sample
from sftgen.relevance.score import DescriptionScorer, cross_fitted_scores

SCORE_KINDS = ("examples", "probe", "descriptions")
"""examples: the sample's centroids; probe: a logistic regression on the sample; descriptions: the recipe's."""

LLMJudge = Callable[[list[str]], Awaitable[list[bool]]]
"""Keep (True) or not for each text, as the project's chunk filter decides it."""


@dataclass
class CalibrationReport:
    sample_path: Path
    sample: Sample
    score_kind: str  # one of SCORE_KINDS
    examples_name: str | None
    """The sample's path relative to the project, when the score is made from it."""
    calibration: Calibration
    with_llm: Scores | None = None
    llm_requests: int = 0
    embedder: str = "static"

    def recipe_lines(self) -> list[str]:
        band = self.calibration.band
        lines = ["relevance:"]
        if self.examples_name:
            lines.append(f"  examples: {self.examples_name}")
        if self.score_kind == "probe":
            lines.append("  fit: probe")
        if self.embedder != "static":
            lines.append(f"  embedder: {self.embedder}")
        if band.empty:  # the score alone decides at the F1 cut
            lines += [f"  keep_at: {self.calibration.threshold:.4f}", f"  drop_below: {self.calibration.threshold:.4f}"]
        else:
            lines += [f"  keep_at: {band.high:.4f}", f"  drop_below: {band.low:.4f}"]
        return lines


def relative_inside(project_dir: Path, path: Path) -> str | None:
    root, real = Path(os.path.realpath(project_dir)), Path(os.path.realpath(path))
    return real.relative_to(root).as_posix() if real.is_relative_to(root) else None


async def calibrate_project(project: Project, sample_path: Path, embedder, score_kind: str | None = None,
                            purity: float = DEFAULT_PURITY, llm_judge: LLMJudge | None = None,
                            embedder_name: str = "static") -> CalibrationReport:
    sample = read_sample(sample_path)
    texts = [t.text for t in sample.texts]
    relevant = [t.relevant for t in sample.texts]
    inside = relative_inside(project.dir, sample_path)
    kind = score_kind or ("examples" if inside else "descriptions")
    from_sample = kind in ("examples", "probe")
    if from_sample and inside is None:
        raise ValueError(f"{sample_path}: a score made from the sample reads it at run time, so the sample must be "
                         "inside the project folder")
    if from_sample:
        scores = cross_fitted_scores("probe" if kind == "probe" else "centroids", texts, relevant, embedder)
    else:
        scores = DescriptionScorer(project.recipe, embedder).scores(texts)
    calibration = calibrate(scores, relevant, purity)
    report = CalibrationReport(sample_path, sample, kind, inside if from_sample else None, calibration,
                               embedder=embedder_name)
    if llm_judge is not None and calibration.in_band:
        verdicts = await llm_judge([texts[i] for i in calibration.in_band])
        llm_keeps = dict(zip(calibration.in_band, verdicts))
        report.with_llm = gate_with_llm(calibration, relevant, llm_keeps.__getitem__)
        report.llm_requests = len(calibration.in_band)
    elif llm_judge is not None:
        report.with_llm = gate_with_llm(calibration, relevant, lambda i: False)
    return report


def report_lines(report: CalibrationReport) -> list[str]:
    c, n = report.calibration, len(report.sample.texts)
    relevant = sum(t.relevant for t in report.sample.texts)
    source = {"examples": "centroids of this sample", "probe": "a linear probe fitted on this sample",
              "descriptions": "the recipe's domain and subdomain descriptions"}[report.score_kind]
    if report.embedder != "static":
        source += f" ({report.embedder} embeddings)"
    lines = [f"{n} labelled texts ({relevant} relevant) from {report.sample_path}; score from {source}"]
    lines += [f"skipped {problem}" for problem in report.sample.problems]
    lines.append(f"score alone, cut {c.threshold:.4f}: {c.score_alone.line()} (cross-validated)")
    if c.band.empty:
        lines.append(f"band: empty at purity {c.purity}: the score alone decides every text")
    else:
        lines.append(f"band [{c.band.low:.4f}, {c.band.high:.4f}) at purity {c.purity}: "
                     f"{len(c.in_band)} of {n} texts ({len(c.in_band) / n:.0%}) go to the LLM")
        lines.append(f"score outside the band: {c.gate_outside_band.line()}")
    if report.with_llm is not None:
        lines.append(f"score + LLM in the band: {report.with_llm.line()}; LLM requests {report.llm_requests} "
                     f"(the LLM alone: {n})")
    else:
        lines.append("score + LLM: not measured (--no-llm)")
    lines.append("put in recipe.yaml:")
    lines += [f"  {line}" for line in report.recipe_lines()]
    return lines


@asynccontextmanager
async def chunk_filter_judge(project: Project) -> AsyncIterator[LLMJudge]:
    """The project's chunk filter as `sftgen run` asks it (its template, schema and LLM), on texts given here;
    the replies are cached in the project's store like a run's."""
    from sftgen.pipeline import standard_pipeline
    from sftgen.records import Record
    from sftgen.run.open import open_run
    from sftgen.steps.chunk_filter import ChunkFilterStep

    pipeline = standard_pipeline(project.recipe)
    step = pipeline.step_of(ChunkFilterStep)
    store = project.store()
    try:
        async with open_run(project, pipeline, store, start_llm=True) as run:
            async def judge(texts: list[str]) -> list[bool]:
                async def one(text: str) -> bool:
                    item, ictx = Record(kind="chunk", text=text, meta={"title": ""}), run.item()
                    reply = await ictx.ask(step.template_for(item, ictx), step.variables(item, ictx),
                                           step.schema_for(item, ictx), temperature=step.temperature)
                    return reply.verdict == "keep"

                return list(await asyncio.gather(*(one(text) for text in texts)))

            yield judge
    finally:
        store.close()
