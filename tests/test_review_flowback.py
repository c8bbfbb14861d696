"""Reviewers' decisions flow back through the real pipeline: an edited prompt gets a new answer on the next
run (and only it), a rejected prompt's answer leaves the export, exports take the latest accepted version,
and `required_before_answer` holds prompts until they are reviewed. Runs the real answer steps against the
fake LLM server and a local search corpus."""

from __future__ import annotations

import asyncio
import json

import yaml
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.export.rows import export_rows
from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.decisions.log import Decision, ReviewLog
from sftgen.run.runner import run_project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, scores_reply, template_of, user_text
from tests.support.review_project import seed_prompts

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
]
EDITED = "Which six quark flavours exist, and which fractional electric charges do they carry?"


def project_with_review(tmp_path, **review):
    root = make_answer_project(tmp_path / "p")
    recipe = yaml.safe_load((root / "recipe.yaml").read_text())
    recipe["review"] = review
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return root


def from_gate_on(project_dir):
    steps = standard_pipeline(Project.open(project_dir).recipe)
    names = [step.name for step in steps]
    return steps[names.index("review_gate"):]


class Requests:
    """The fake server's script: scores every answer 4 and logs (template, user text) of every request."""

    def __init__(self):
        self.log: list[tuple[str, str]] = []

    def __call__(self, step, body):
        self.log.append((template_of(step, body), user_text(body)))
        if template_of(step, body) == "answer_eval":
            return scores_reply(4)
        return None


def run(project_dir, server) -> None:
    async def go():
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=1, max_reasks=1,
                            backoff=Backoff(0.001, 0.01))
        try:
            await run_project(Project.open(project_dir), llm=client, steps=from_gate_on(project_dir))
        finally:
            await client.aclose()

    asyncio.run(go())


def exported(project_dir, what):
    project = Project.open(project_dir)
    store = project.store()
    try:
        return list(export_rows(store, standard_pipeline(project.recipe), what, project.recipe))
    finally:
        store.close()


def decide(project_dir, **fields):
    project = Project.open(project_dir)
    store = project.store()
    try:
        fields.setdefault("version_id", fields["item_id"])
        return ReviewLog(store, standard_pipeline(project.recipe)).record(Decision(kind="prompt", **fields))
    finally:
        store.close()


def test_an_edit_regenerates_only_that_prompts_answer_and_a_rejection_leaves_the_export(tmp_path):
    project = project_with_review(tmp_path)
    first, second = seed_prompts(project, PROMPTS)
    requests = Requests()
    with running_fake_server() as server:
        server.script_steps(requests)
        run(project, server)
        assert {row["prompt_id"] for row in exported(project, "sft")} == {first.id, second.id}
        answered_before = [text for template, text in requests.log if template == "answer"]
        assert len(answered_before) == 2

        edit = decide(project, item_id=first.id, reviewer="ana", decision="edit", edited_text=EDITED)
        decide(project, item_id=second.id, reviewer="ana", decision="reject", reason="off-domain")
        before_run = CliRunner().invoke(app, ["export", str(project), "--what", "sft", "--out",
                                              str(tmp_path / "early.jsonl")])
        assert "2 review decisions are not in this export yet" in " ".join(before_run.output.split())
        requests.log.clear()
        run(project, server)
        rerun = list(requests.log)
        requests.log.clear()
        run(project, server)
        third_run = list(requests.log)

    answer_requests = [text for template, text in rerun if template == "answer"]
    assert len(answer_requests) == 1 and EDITED in answer_requests[0]
    assert all(PROMPTS[0][0] not in text and PROMPTS[1][0] not in text for _, text in rerun)
    assert third_run == []

    sft = exported(project, "sft")
    assert [row["prompt_id"] for row in sft] == [edit.new_version_id]
    assert sft[0]["messages"][-2]["content"] == EDITED
    prompts = exported(project, "prompts")
    assert [row["id"] for row in prompts] == [edit.new_version_id]
    assert prompts[0]["parent_ids"] == [first.id] and prompts[0]["meta"]["edited_from"] == first.id

    store = Project.open(project).store()
    try:
        original = store.get(first.id)
        assert original.text == PROMPTS[0][0]  # never overwritten
        gate_rows = {row["item_id"]: dict(row) for row in store.progress.rows("review_gate")}
        assert gate_rows[second.id]["outcome"] == "dropped"
        assert gate_rows[second.id]["reason"] == "rejected_by_reviewer"
        assert gate_rows[second.id]["detail"] == "off-domain"
        rejected = store.get(second.id)  # dropped like a filter drops: quotas and status count it so
        assert (rejected.status, rejected.reason) == ("dropped", "rejected_by_reviewer")
    finally:
        store.close()

    status = json.loads(CliRunner().invoke(app, ["status", str(project), "--json"]).output)
    assert {k: status["review"]["prompt"][k] for k in ("accepted", "edited", "rejected", "pending")} == {
        "accepted": 0, "edited": 1, "rejected": 1, "pending": 0}
    assert status["review"]["answer"]["pending"] == 1  # the new version's answer waits for an expert
    assert status["review"]["prompt"]["waiting_for_run"] == 0
    gate = next(step for step in status["steps"] if step["name"] == "review_gate")
    assert gate["dropped"] == {"rejected_by_reviewer": 1}


def test_required_review_holds_prompts_until_a_decision(tmp_path):
    project = project_with_review(tmp_path, required_before_answer=True)
    first, second = seed_prompts(project, PROMPTS)
    requests = Requests()
    with running_fake_server() as server:
        server.script_steps(requests)
        run(project, server)
        assert not [1 for template, _ in requests.log if template == "answer"]
        assert exported(project, "sft") == []

        decide(project, item_id=first.id, reviewer="ana", decision="accept")
        run(project, server)

    answered = [text for template, text in requests.log if template == "answer"]
    assert len(answered) == 1 and PROMPTS[0][0] in answered[0]
    assert [row["prompt_id"] for row in exported(project, "sft")] == [first.id]
    store = Project.open(project).store()
    try:
        held = {row["item_id"]: row["reason"] for row in store.progress.rows("review_gate")}
        assert held == {first.id: None, second.id: "awaiting_review"}
    finally:
        store.close()


def test_answer_decisions_reach_the_export_without_new_requests(tmp_path):
    project = project_with_review(tmp_path)
    first, second = seed_prompts(project, PROMPTS)
    requests = Requests()
    with running_fake_server() as server:
        server.script_steps(requests)
        run(project, server)
        answers = {row["prompt_id"]: row["answer_id"] for row in exported(project, "sft")}
        store = Project.open(project).store()
        try:
            log = ReviewLog(store, standard_pipeline(Project.open(project).recipe))
            edit = log.record(Decision(answers[first.id], "answer", answers[first.id], "ana", "edit",
                                       edited_text="Six flavours: up, down, strange, charm, bottom, top [1].",
                                       scores={"style": 5, "domain": 5, "groundedness": 4}))
            log.record(Decision(answers[second.id], "answer", answers[second.id], "ana", "reject",
                                reason="incorrect"))
        finally:
            store.close()
        requests.log.clear()
        run(project, server)

    assert requests.log == []  # decisions on answers cost no LLM request
    sft = exported(project, "sft")
    assert [row["answer_id"] for row in sft] == [edit.new_version_id]
    assert sft[0]["messages"][-1]["content"].startswith("Six flavours: up, down")
    assert sft[0]["prompt_id"] == first.id
    store = Project.open(project).store()
    try:
        edited, original = store.get(edit.new_version_id), store.get(answers[first.id])
        assert edited.parent_ids == [original.id] and edited.meta["edited_from"] == original.id
        assert edited.meta["passage_ids"] == original.meta["passage_ids"]  # still walks back to its passages
        assert "scores" in original.meta and "scores" not in edited.meta  # the judge never saw the edit
        assert edited.meta["expert_scores"] == {"style": 5, "domain": 5, "groundedness": 4}
    finally:
        store.close()


def test_a_reviewer_who_changes_their_mind_brings_the_prompt_back(tmp_path):
    project = project_with_review(tmp_path)
    first, second = seed_prompts(project, PROMPTS)
    decide(project, item_id=second.id, reviewer="ana", decision="reject", reason="unclear")
    requests = Requests()
    with running_fake_server() as server:
        server.script_steps(requests)
        run(project, server)
        assert [row["prompt_id"] for row in exported(project, "sft")] == [first.id]
        decide(project, item_id=second.id, reviewer="ana", decision="accept")
        requests.log.clear()
        run(project, server)

    answered = [text for template, text in requests.log if template == "answer"]
    assert len(answered) == 1 and PROMPTS[1][0] in answered[0]
    assert {row["prompt_id"] for row in exported(project, "sft")} == {first.id, second.id}
    store = Project.open(project).store()
    try:
        assert (store.get(second.id).status, store.get(second.id).reason) == ("kept", None)
    finally:
        store.close()


def test_an_accepted_answer_of_a_rejected_prompt_is_set_aside_not_waited_for(tmp_path):
    """The prompt's rejection wins: its answer leaves the pipeline, and the expert's accept of that answer
    stays in the log without keeping `status` and `export` waiting for a run that can never apply it."""
    project = project_with_review(tmp_path)
    first, second = seed_prompts(project, PROMPTS)
    requests = Requests()
    with running_fake_server() as server:
        server.script_steps(requests)
        run(project, server)
        answers = {row["prompt_id"]: row["answer_id"] for row in exported(project, "sft")}
        decide(project, item_id=second.id, reviewer="ana", decision="reject", reason="off-domain")
        store = Project.open(project).store()
        try:
            log = ReviewLog(store, standard_pipeline(Project.open(project).recipe))
            log.record(Decision(answers[second.id], "answer", answers[second.id], "ana", "accept"))
        finally:
            store.close()
        run(project, server)
        export = CliRunner().invoke(app, ["export", str(project), "--what", "sft", "--out", str(tmp_path / "s.jsonl")])
        assert export.exit_code == 0 and "not in this export yet" not in export.output
        status = json.loads(CliRunner().invoke(app, ["status", str(project), "--json"]).output)
        assert status["review"]["answer"]["waiting_for_run"] == 0 and status["review"]["answer"]["set_aside"] == 1
        assert [row["prompt_id"] for row in exported(project, "sft")] == [first.id]

        decide(project, item_id=second.id, reviewer="ana", decision="accept")  # the prompt comes back
        run(project, server)
    sft = {row["prompt_id"]: row for row in exported(project, "sft")}
    assert set(sft) == {first.id, second.id} and sft[second.id]["answer_id"] == answers[second.id]
    status = json.loads(CliRunner().invoke(app, ["status", str(project), "--json"]).output)
    assert status["review"]["answer"]["accepted"] == 1 and status["review"]["answer"]["set_aside"] == 0
