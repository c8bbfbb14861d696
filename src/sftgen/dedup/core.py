"""Greedy dedup in a fixed order: the texts are walked first to last and a text is a duplicate when it
matches one *kept* before it. Anchors (the prompts kept in earlier runs) come first and are never
dropped, so new prompts are checked against them and against each other. Methods run in the recipe's
order (cheapest first), each over what the previous ones left. With `content_check`, near and semantic
candidates must also agree on their content words (sftgen.dedup.content)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sftgen.dedup.content import ContentAgreement, numbers_of
from sftgen.dedup.corpus import Corpus
from sftgen.dedup.near import near_duplicates
from sftgen.dedup.semantic import semantic_duplicates
from sftgen.dedup.verifier import Judge, Question, Verdict, apply_verdicts, questions_for, verify, within_budget
from sftgen.recipe.dedup_settings import Dedup


@dataclass(frozen=True)
class Duplicate:
    index: int
    of: int
    """Index of the kept text it duplicates."""
    method: str
    similarity: float


@dataclass
class DedupReport:
    duplicates: dict[int, Duplicate] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=list)
    """With `verifier: llm`: what to ask the verifier (sftgen.dedup.verifier) in place of semantic thresholds."""
    unasked: list[Question] = field(default_factory=list)
    """The questions left out when the pair budget (`verifier_max_pairs`) ran out: those prompts are kept."""

    def dropped_by(self, method: str) -> int:
        return sum(1 for dup in self.duplicates.values() if dup.method == method)


def find_duplicates(texts: Sequence[str], n_anchors: int, settings: Dedup, embedder=None) -> DedupReport:
    """Which of `texts[n_anchors:]` duplicate a text kept before them (an anchor or an earlier new text)."""
    return check_new(Corpus(texts, n_anchors, settings, embedder), settings)


def check_new(corpus: Corpus, settings: Dedup) -> DedupReport:
    """`find_duplicates` over a corpus whose anchors' features may come from the dedup index."""
    report = DedupReport()
    alive = list(range(len(corpus)))
    agreement = None
    if settings.content_check and ("near" in settings.methods or "semantic" in settings.methods):
        started = time.perf_counter()
        # IDF over every text, anchors included
        agreement = ContentAgreement(corpus.texts, corpus.embedder, corpus.frequency(), corpus.words)
        report.seconds["content"] = time.perf_counter() - started
    for method in settings.methods:
        started = time.perf_counter()
        if method == "exact":
            found = exact_duplicates(corpus, alive)
        elif method == "near":
            found = near_duplicates(corpus, alive, settings, agreement)
        else:
            if corpus.embedder is None:
                raise ValueError("semantic dedup needs an embedder")
            if settings.verifier == "llm":
                report.questions = questions_for(alive, corpus.n_anchors, corpus.vectors(alive), settings, agreement,
                                                 Numbers(corpus, alive))
                found = {}
            else:
                found = semantic_duplicates(corpus, alive, settings, agreement)
        report.seconds[method] = time.perf_counter() - started
        for index, (of, similarity) in found.items():
            report.duplicates[index] = Duplicate(index, of, method, round(float(similarity), 4))
        alive = [i for i in alive if i not in found]
    return report


class Numbers:
    """The numbers of `alive[position]`, read on first use."""

    def __init__(self, corpus: Corpus, alive: list[int]):
        self.corpus, self.alive = corpus, alive

    def __getitem__(self, position: int) -> frozenset[str]:
        return numbers_of(self.corpus.words(self.alive[position]))


def exact_duplicates(corpus: Corpus, alive: list[int]) -> dict[int, tuple[int, float]]:
    first_with: dict[str, int] = {}
    found: dict[int, tuple[int, float]] = {}
    for i in alive:
        key = corpus.key(i)
        if key in first_with and i >= corpus.n_anchors:
            found[i] = (first_with[key], 1.0)
        else:
            first_with.setdefault(key, i)
    return found


async def find_duplicates_verified(texts: Sequence[str], n_anchors: int, settings: Dedup, embedder,
                                   judge: Judge, concurrency: int = 8) -> tuple[DedupReport, list[Verdict]]:
    """`find_duplicates`, then (with `verifier: llm`) the verifier's questions within the pair budget:
    the pairs it agrees on in both orders are duplicates (method `verified`, similarity the cosine)."""
    return await check_new_verified(Corpus(texts, n_anchors, settings, embedder), settings, judge, concurrency)


async def check_new_verified(corpus: Corpus, settings: Dedup, judge: Judge,
                             concurrency: int = 8) -> tuple[DedupReport, list[Verdict]]:
    texts = corpus.texts
    report = check_new(corpus, settings)
    if not report.questions:
        return report, []
    started = time.perf_counter()
    asked = within_budget(report.questions, settings.verifier_max_pairs)
    chosen = {question.index for question in asked}
    report.unasked = [question for question in report.questions if question.index not in chosen]
    verdicts = await verify(asked, texts, judge, concurrency)
    apply_verdicts(verdicts, report.duplicates, lambda index, of, cosine: Duplicate(index, of, "verified", cosine))
    report.seconds["verified"] = time.perf_counter() - started
    return report, verdicts
