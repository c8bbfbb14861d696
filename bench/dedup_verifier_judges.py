"""Judges for dedup's verifier in bench/dedup_bench.py: an oracle that answers from the planted labels
(and counts its requests), and the embedded SmolLM2 asked through the dedup step's template and schema."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from sftgen.dedup.verifier import TEMPLATE, llm_judge, verify


def oracle_judge(group_of: dict[str, int]):
    """The number of the first candidate made from the same base prompt as the request, else 0."""

    async def judge(request, candidates, about):
        judge.requests += 1
        group = group_of[request]
        return next((n for n, text in enumerate(candidates, start=1) if group_of[text] == group), 0)

    judge.requests = 0
    return judge


def embedded_judge_report(texts, groups, questions, sample: int, seed: int = 7) -> None:
    """Ask the embedded model `sample` questions (half with a planted duplicate among the candidates) and
    print how its verdicts compare with the labels."""
    rng = random.Random(seed)
    with_duplicate = [q for q in questions if any(groups[c.other] == groups[q.index] for c in q.candidates)]
    without = [q for q in questions if q not in with_duplicate]
    chosen = rng.sample(with_duplicate, min(sample // 2, len(with_duplicate)))
    chosen += rng.sample(without, min(sample - len(chosen), len(without)))
    started = time.perf_counter()
    verdicts = asyncio.run(ask_embedded(chosen, texts))
    seconds = time.perf_counter() - started
    outcome = Counter()
    for verdict in verdicts:
        q = verdict.question
        planted = any(groups[c.other] == groups[q.index] for c in q.candidates)
        said = verdict.duplicate_of is not None
        right = said and groups[verdict.duplicate_of] == groups[q.index]
        outcome["planted" if planted else "none"] += 1
        outcome["found" if right else "missed" if planted else "kept"] += planted or not said
        outcome["false duplicate"] += said and not right
        outcome["unusable"] += any(answer is None for answer in verdict.answers)
        outcome["first order named one"] += bool(verdict.answers[0])
    requests = sum(v.requests for v in verdicts)
    print(f"embedded SmolLM2 as the judge on {len(verdicts)} questions ({outcome['planted']} with a planted "
          f"duplicate among the candidates): found {outcome['found']}, missed {outcome['missed']}, "
          f"false duplicates {outcome['false duplicate']}, distinct kept {outcome['kept']}/{outcome['none']}; "
          f"the first order named a candidate {outcome['first order named one']} times; unusable replies "
          f"{outcome['unusable']}; {requests} requests in {seconds:.0f} s ({seconds / max(requests, 1):.1f} s each)")


async def ask_embedded(questions, texts):
    from sftgen.llm.client import ChatClient, LLMError
    from sftgen.llm.embedded import EmbeddedServer
    from sftgen.llm.templates import Templates

    templates = Templates(None)
    with tempfile.TemporaryDirectory() as scratch, EmbeddedServer(None, 4096, Path(scratch) / "llm.log") as server:
        client = ChatClient(server.base_url, server.alias, max_concurrency=2, timeout_s=600,
                            structured_output="json_object", max_reasks=1)

        async def ask(about, variables, schema):
            try:
                return (await client.complete(templates.render_messages(TEMPLATE, variables), schema=schema,
                                              temperature=0.0, max_tokens=160)).parsed
            except LLMError:
                return None

        try:
            return await verify(questions, texts, llm_judge(ask), concurrency=2)
        finally:
            await client.aclose()
