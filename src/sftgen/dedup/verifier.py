"""Dedup's verifier: for new prompts that have look-alikes the cheap checks cannot settle, a judge (an LLM,
or in the bench an oracle) is asked whether one of them is the same request.

A question shows one prompt and its best candidates (earlier prompts in the calibrated similarity band,
with the same numbers, ranked by 2 x cosine + content agreement), and the judge names the one that is the
same request, or none. The pair it names is asked again the other way round (that candidate first, the
prompt as the only other request): a duplicate needs both orders to agree, and a disagreement counts as
distinct, so the verifier keeps precision first. One prompt therefore costs at most two requests: one when
the judge finds nothing, two when it finds a duplicate. Questions go in order of their best candidate's
score until `dedup.verifier_max_pairs` (candidates shown, over the run) is spent; prompts left out are kept.

The judge is any async callable `judge(request, candidates, about) -> int | None`: the 1-based number of
the candidate that is the same request, 0 for none, None for no usable answer (counted as none); `about`
is the index of the prompt asked about, so the caller can count the requests on it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, create_model

from sftgen.llm.schemas import Sentence
from sftgen.recipe.dedup_settings import Dedup

TEMPLATE = "dedup_verify.jinja"
RANKED_BY_COSINE = 12
"""Nearest candidates (by cosine) whose content agreement is computed to rank them; the best
`verifier_candidates` of these are shown."""
NEIGHBOURS = 50
"""Neighbours looked up per prompt in the ANN index when the verifier is on."""

Judge = Callable[[str, Sequence[str], int], Awaitable[int | None]]


@dataclass(frozen=True)
class Candidate:
    other: int
    """Index of an earlier text, kept by the cheap checks."""
    cosine: float
    score: float


@dataclass(frozen=True)
class Question:
    index: int
    """The new text asked about: the one dropped when a candidate is the same request."""
    candidates: tuple[Candidate, ...]
    """Best first."""


@dataclass(frozen=True)
class Verdict:
    question: Question
    duplicate_of: int | None
    """The candidate both orders agreed on, or None."""
    answers: tuple[int | None, ...]
    """The judge's answers: the question, then (when it named a candidate) the other order."""

    @property
    def requests(self) -> int:
        return len(self.answers)


def questions_for(
    alive: list[int], n_anchors: int, vectors: np.ndarray, settings: Dedup, agreement, numbers: list[frozenset]
) -> list[Question]:
    """A question for each new text in `alive` with candidates in the band: earlier alive texts at or above
    `verifier_min_similarity` cosine, with the same numbers; ranked, cut to `verifier_candidates`."""
    from sftgen.dedup.semantic import nearest

    new_positions = [p for p, index in enumerate(alive) if index >= n_anchors]
    if not new_positions:
        return []
    neighbours, similarities = nearest(vectors, new_positions, max(settings.semantic_neighbours, NEIGHBOURS) + 1)
    nearby = []
    for row, position in enumerate(new_positions):
        near = [(float(s), int(o)) for o, s in zip(neighbours[row], similarities[row])
                if 0 <= o < position and s >= settings.verifier_min_similarity and numbers[o] == numbers[position]]
        nearby.append(sorted(near, key=lambda pair: (-pair[0], pair[1]))[:RANKED_BY_COSINE])
    if agreement is not None:  # the words of every pair to rank, encoded in one call
        agreement.prepare({alive[p] for p in new_positions} | {alive[o] for near in nearby for _, o in near})
    questions = []
    for position, near in zip(new_positions, nearby):
        index = alive[position]
        ranked = sorted(
            (Candidate(alive[o], round(c, 4), round(2 * c + agreement_of(agreement, index, alive[o]), 4))
             for c, o in near),
            key=lambda candidate: (-candidate.score, candidate.other),
        )[: settings.verifier_candidates]
        if ranked:
            questions.append(Question(index, tuple(ranked)))
    return questions


def agreement_of(agreement, a: int, b: int) -> float:
    return agreement(a, b) if agreement is not None else 0.0


def within_budget(questions: list[Question], max_pairs: int | None) -> list[Question]:
    """The questions asked: by best candidate score (then index), while the candidates shown fit the budget."""
    if max_pairs is None:
        return list(questions)
    chosen, pairs = [], 0
    for question in sorted(questions, key=lambda q: (-q.candidates[0].score, q.index)):
        if pairs + len(question.candidates) > max_pairs:
            continue
        chosen.append(question)
        pairs += len(question.candidates)
    return sorted(chosen, key=lambda q: q.index)


async def verify(questions: Sequence[Question], texts: Sequence[str], judge: Judge, concurrency: int = 8) -> list[Verdict]:
    """Ask the judge each question, and the other order for the candidate it names; all questions at once,
    `concurrency` in flight."""
    slots = asyncio.Semaphore(concurrency)

    async def ask(question: Question) -> Verdict:
        async with slots:
            shown = [texts[c.other] for c in question.candidates]
            first = valid_answer(await judge(texts[question.index], shown, question.index), len(shown))
            if not first:
                return Verdict(question, None, (first,))
            named = question.candidates[first - 1].other
            back = valid_answer(await judge(texts[named], [texts[question.index]], question.index), 1)
            return Verdict(question, named if back == 1 else None, (first, back))

    return list(await asyncio.gather(*(ask(question) for question in questions)))


def valid_answer(answer: int | None, shown: int) -> int | None:
    return answer if isinstance(answer, int) and 0 <= answer <= shown else None


def apply_verdicts(verdicts: Sequence[Verdict], duplicates: dict[int, Any], make_duplicate) -> None:
    """Record each agreed pair as a duplicate, in index order: one whose candidate turned out a duplicate
    itself points at what that one duplicates, so `duplicate_of` always names a kept text."""
    for verdict in sorted(verdicts, key=lambda v: v.question.index):
        if verdict.duplicate_of is None:
            continue
        target = verdict.duplicate_of
        while target in duplicates:
            target = duplicates[target].of
        cosine = next(c.cosine for c in verdict.question.candidates if c.other == verdict.duplicate_of)
        duplicates[verdict.question.index] = make_duplicate(verdict.question.index, target, cosine)


@lru_cache(maxsize=32)
def verdict_schema(candidates: int) -> type[BaseModel]:
    """The judge's reply for `candidates` shown: the reason first (written before the verdict, not made up
    after it), then `same_as`, an enum 0..candidates (an enum, so llama.cpp's grammar keeps the bound)."""
    choices = Literal[tuple(range(candidates + 1))]  # type: ignore[valid-type]
    return create_model(
        "SameRequest",
        reason=(Sentence, Field(description="One sentence: what the request asks for and how the others differ.")),
        same_as=(choices, Field(description="The number of the request that is the same request; 0: none.")),
    )


Ask = Callable[[int, dict[str, Any], type[BaseModel]], Awaitable[Any]]


def llm_judge(ask: Ask) -> Judge:
    """A judge asking an LLM with TEMPLATE: `ask(about, variables, schema)` renders and sends it (and counts
    the request on prompt `about`), returning the parsed reply, or None when the LLM gave no usable one."""

    async def judge(request: str, candidates: Sequence[str], about: int) -> int | None:
        reply = await ask(about, {"request": request, "candidates": list(candidates)}, verdict_schema(len(candidates)))
        return None if reply is None else reply.same_as

    return judge
