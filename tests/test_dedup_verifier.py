"""Dedup with `dedup.verifier: llm`, through the real executor, store and embedder, against the scripted fake
server: the LLM is asked "same request?" about a new prompt and its look-alikes, then the other way round
for the one it names; only both orders agreeing make a duplicate; the pair budget holds and what it left
out is recorded; a malformed reply is recorded on the prompt and the run goes on; replies are cached."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path

import yaml

from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.run.runner import run_project
from sftgen.steps.dedup import DedupStep
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.embedder import embedder  # noqa: F401  (session fixture)
from tests.support.projects import TINY_RECIPE, make_project
from tests.test_dedup import PromptLines, write_prompts

BARYONS = ("Compare baryons and mesons in terms of their quark content.",
           "In terms of quark content, how do baryons compare with mesons?")
CHARGE = ("What is the electric charge of the strange quark?", "What electric charge does the strange quark carry?")
GLUONS = ("Why do gluons interact with each other, unlike photons?",
          "Why do gluons interact with one another while photons do not?")
OTHERS = ["How does lattice QCD estimate the mass of the proton?",
          "Which quark is heaviest, and why does it decay before forming hadrons?",
          "What experimental evidence confirmed the existence of gluons in 1979?"]
SAME = [BARYONS, CHARGE, GLUONS]
TEXTS = [text for pair in SAME for text in pair] + OTHERS

FENCED = re.compile(r"<(REQUEST|CANDIDATE)>\n(.*?)\n</\1>", re.DOTALL)


class Judge:
    """A scripted LLM judge: answers "same request?" from `same` (pairs of texts), noting every question.
    `refuses_reversed` pairs are called the same in the asked order only; a question showing both texts of
    a `garbled` pair gets a reply that is not JSON."""

    def __init__(self, same=SAME, refuses_reversed=(), garbled=()):
        self.same = {frozenset(pair) for pair in same}
        self.refuses_reversed = {frozenset(pair) for pair in refuses_reversed}
        self.garbled = {frozenset(pair) for pair in garbled}
        self.asked: list[tuple[str, list[str]]] = []
        self.seen: set[frozenset | None] = set()

    def __call__(self, step, body):
        user = body["messages"][-1]["content"]
        if step != "dedup":
            return None
        fenced = FENCED.findall(user)
        request, candidates = fenced[0][1], [text for label, text in fenced[1:]]
        self.asked.append((request, candidates))
        if any(frozenset((request, text)) in self.garbled for text in candidates):
            return "the same, I think"
        answer = next((n for n, text in enumerate(candidates, 1) if frozenset((request, text)) in self.same), 0)
        pair = frozenset((request, candidates[answer - 1])) if answer else None
        if pair in self.refuses_reversed and pair in self.seen:  # asked again: the other order
            answer = 0
        self.seen.add(pair)
        return json.dumps({"reason": "Both ask the same thing." if answer else "They differ.", "same_as": answer})


def make_verifier_project(root: Path, texts=TEXTS, **dedup) -> Project:
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["dedup"] = {"verifier": "llm", **dedup}
    make_project(root, recipe=recipe)
    write_prompts(root, texts)
    return Project.open(root)


def set_dedup(project: Project, **dedup) -> Project:
    path = project.dir / "recipe.yaml"
    recipe = yaml.safe_load(path.read_text())
    recipe["dedup"].update(dedup)
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return Project.open(project.dir)


def run(project: Project, server) -> dict[str, Record]:
    """Run the source and dedup against the fake server; return every prompt record by its text."""

    async def go():
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=1, max_reasks=1,
                            backoff=Backoff(0.001, 0.01))
        try:
            await run_project(project, llm=client, pipeline=[PromptLines(), DedupStep(upstream=["prompts"], verifier=True)])
        finally:
            await client.aclose()

    asyncio.run(go())
    store = project.store()
    try:
        return {record.text: record for record in store.records_of_kind("prompt")}
    finally:
        store.close()


def run_log(project: Project) -> str:
    return "\n".join(path.read_text() for path in sorted((project.state_dir / "logs").glob("run-*.log")))


def test_a_pair_is_a_duplicate_when_both_orders_say_same(tmp_path, embedder):
    project = make_verifier_project(tmp_path / "p")
    judge = Judge()
    with running_fake_server() as server:
        server.script_steps(judge)
        records = run(project, server)

    for pair in SAME:
        first, second = (records[text] for text in pair)
        kept, dropped = (first, second) if first.status == Status.KEPT else (second, first)
        assert (kept.status, dropped.status) == (Status.KEPT, Status.DROPPED), pair
        assert dropped.reason == "duplicate_verified"
        assert dropped.meta["duplicate_of"] == kept.id and dropped.meta["dedup_method"] == "verified"
        asked = [q for q in judge.asked if q[0] == dropped.text and kept.text in q[1]]
        reversed_ = [q for q in judge.asked if q == (kept.text, [dropped.text])]
        assert asked and reversed_, (pair, judge.asked)
    assert all(records[text].status == Status.KEPT for text in OTHERS)
    assert all(len(candidates) <= 5 for _, candidates in judge.asked)  # dedup.verifier_candidates


def test_disagreement_between_the_orders_keeps_both(tmp_path, embedder):
    project = make_verifier_project(tmp_path / "p")
    judge = Judge(refuses_reversed=[BARYONS])
    with running_fake_server() as server:
        server.script_steps(judge)
        records = run(project, server)

    assert {records[text].status for text in BARYONS} == {Status.KEPT}
    new = max((records[text] for text in BARYONS), key=lambda r: r.id)  # the larger id is the one asked about
    assert [q for q in judge.asked if q[0] == new.text] and [q for q in judge.asked if q[1] == [new.text]]
    assert sum(r.status == Status.DROPPED for r in records.values()) == 2  # the other pairs still agree


def test_the_pair_budget_holds_and_what_it_leaves_is_recorded(tmp_path, embedder):
    project = make_verifier_project(tmp_path / "p", verifier_candidates=1, verifier_max_pairs=1)
    judge = Judge()
    with running_fake_server() as server:
        server.script_steps(judge)
        records = run(project, server)

    # one question with one look-alike fits the budget of one pair: it and its reversed order at most
    assert 1 <= len(judge.asked) <= 2 and all(len(candidates) == 1 for _, candidates in judge.asked)
    unverified = [r for r in records.values() if r.meta.get("dedup_unverified")]
    assert unverified and all(r.status == Status.KEPT for r in unverified)
    ids = {r.id for r in records.values()}
    assert all(set(r.meta["dedup_unverified"]) <= ids for r in unverified)
    assert sum(r.status == Status.DROPPED for r in records.values()) <= 1
    assert "pair budget (dedup.verifier_max_pairs 1) was spent" in run_log(project)


def test_a_malformed_reply_is_recorded_on_the_prompt_and_the_run_goes_on(tmp_path, embedder):
    project = make_verifier_project(tmp_path / "p")
    judge = Judge(garbled=[BARYONS])
    with running_fake_server() as server:
        server.script_steps(judge)
        records = run(project, server)

    asked_about = [records[text] for text in BARYONS if records[text].meta.get("dedup_verifier_error")]
    assert len(asked_about) == 1 and {records[text].status for text in BARYONS} == {Status.KEPT}
    error = asked_about[0].meta["dedup_verifier_error"]
    other = next(records[text] for text in BARYONS if text != asked_about[0].text)
    assert other.id in error["with"] and error["order"] == "asked" and error["error"]
    assert sum(r.status == Status.DROPPED for r in records.values()) == 2  # the other pairs are decided
    assert "no usable verdict" in run_log(project)


def test_replies_are_cached_so_an_unchanged_rerun_sends_no_request(tmp_path, embedder):
    project = make_verifier_project(tmp_path / "p")
    with running_fake_server() as server:
        server.script_steps(Judge())
        first = run(project, server)
        sent = server.stats()["requests"]
        assert sent > 0
        again = run(project, server)
        assert server.stats()["requests"] == sent
        # another budget redoes the step: the same questions are answered from the cache
        redone = run(set_dedup(project, verifier_max_pairs=500), server)
        assert server.stats()["requests"] == sent
    decisions = {text: (r.status, r.meta.get("duplicate_of")) for text, r in first.items()}
    assert {text: (r.status, r.meta.get("duplicate_of")) for text, r in again.items()} == decisions
    assert {text: (r.status, r.meta.get("duplicate_of")) for text, r in redone.items()} == decisions


def test_the_pipeline_opens_the_llm_for_dedup_only_when_the_verifier_is_on(tmp_path):
    def dedup_of(dedup):
        recipe = copy.deepcopy(TINY_RECIPE)
        recipe["dedup"] = dedup
        make_project(tmp_path / str(len(dedup)), recipe=recipe)
        return standard_pipeline(Project.open(tmp_path / str(len(dedup))).recipe).step("dedup")

    assert dedup_of({"verifier": "llm"}).uses_llm
    assert not dedup_of({}).uses_llm
