"""A project whose prompts have three candidate answers each, made as the pipeline makes them until the
candidates branch lands (CANDIDATES_CONTRACT): the real answer steps answer each prompt on the fake LLM
server (candidate 0), two more `answer` records per prompt (candidates 1 and 2, from the same passages and
with the same citations) are emitted by the `answer` step for the same prompt, as it will emit them, with the
judge's selection in their meta (`chosen`, `chosen_by: "judge"`, `judge_chosen`) as `answer_select` will
leave it; then the real `answer_eval` step scores all three on the fake server and the answer review gate
passes them on."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.run.runner import run_project
from sftgen.store import ItemResult
from tests.support.answer_project import scores_reply, template_of, user_text


@dataclass
class CandidateSet:
    prompt: Record
    ids: list[str] = field(default_factory=list)
    """Candidate answer ids, by candidate_index."""
    texts: list[str] = field(default_factory=list)
    judge_pick: int = 0


class JudgeByText:
    """The fake server's script: the judge scores each answer by a score that its text names ("(score N)"),
    else `default`; every request is counted."""

    def __init__(self, default: int = 4):
        self.default = default
        self.requests = 0

    def __call__(self, step, body):
        self.requests += 1
        if template_of(step, body) == "answer_eval":
            text = user_text(body)
            for score in range(1, 6):
                if f"(score {score})" in text:
                    return scores_reply(score)
            return scores_reply(self.default)
        return None


def run_steps(project_dir: Path, server, first: str, last: str) -> None:
    """Run the pipeline's steps from `first` through `last` on the fake server."""
    steps = standard_pipeline(Project.open(project_dir).recipe)
    names = [step.name for step in steps]

    async def go():
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=1, max_reasks=1,
                            backoff=Backoff(0.001, 0.01))
        try:
            await run_project(Project.open(project_dir), llm=client,
                              steps=steps[names.index(first):names.index(last) + 1])
        finally:
            await client.aclose()

    asyncio.run(go())


def add_candidates(project_dir: Path, prompt: Record, texts: list[str], judge_pick: int) -> CandidateSet:
    """Candidates 1.. with these texts next to the answer the `answer` step made for `prompt` (candidate 0,
    its text kept), the judge's pick being candidate `judge_pick`."""
    project = Project.open(project_dir)
    store = project.store()
    try:
        first = store.emits.emitted_from("answer", prompt.id, kind="answer")[0]
        settings = next(row["settings"] for row in store.progress.rows("answer") if row["item_id"] == prompt.id)
        count = len(texts) + 1
        candidates = [first] + [
            Record(kind="answer", text=text, parent_ids=list(first.parent_ids), meta=dict(first.meta),
                   origin=f"candidate:{index}", step="answer")
            for index, text in enumerate(texts, 1)
        ]
        for index, candidate in enumerate(candidates):
            candidate.meta.update(
                candidate_index=index, candidates=count, chosen=index == judge_pick, chosen_by="judge",
                judge_chosen=index == judge_pick,
                chosen_reason="the best rubric score" if index == judge_pick else "another candidate scored higher")
        store.commit_batch("answer", settings, [ItemResult(item_id=prompt.id, outcome=Status.KEPT, outputs=candidates)])
        return CandidateSet(prompt, [c.id for c in candidates], [c.text for c in candidates], judge_pick)
    finally:
        store.close()


def answer_json(text: str) -> str:
    return json.dumps({"answer": text})


def candidate_texts(key: str) -> list[str]:
    """Candidates 1 and 2 of a prompt: the judge scores them 5 and 4 (candidate 0, the answer step's, 3)."""
    return [f"A careful answer about {key}, well grounded (score 5) [1].",
            f"A shorter answer about {key} (score 4) [1]."]


def make_candidate_project(root: Path, prompts: list[tuple[str, str]], server, judge: JudgeByText,
                           **review) -> list[CandidateSet]:
    """A project (review settings `review`) whose prompts have three candidates each, the judge's pick being
    candidate 1, scored and passed on by the answer review gate."""
    from tests.support.review_project import seed_prompts
    from tests.support.review_runs import project_with_review

    project_with_review(root, **review)
    seeded = seed_prompts(root, prompts)
    server.script_steps(judge)
    run_steps(root, server, "review_gate", "answer")
    sets = [add_candidates(root, prompt, candidate_texts(f"prompt {n}"), judge_pick=1)
            for n, prompt in enumerate(seeded)]
    run_steps(root, server, "answer_eval", "answer_review_gate")
    return sets


def gate_output(root: Path) -> list[Record]:
    """The answers the answer review gate passes on now."""
    store = Project.open(root).store()
    try:
        return [record for record in store.emitted("answer_review_gate", kind="answer") if record.status == Status.KEPT]
    finally:
        store.close()
