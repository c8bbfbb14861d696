"""The answer half against the fake LLM server and a local search corpus: queries, passages, grounded
answers whose citations all point at retrieved passages, RAG off, and the LLM judge's threshold."""

from __future__ import annotations

import json
import re

from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import (
    make_answer_project, run_answers, scores_reply, seed_prompts, template_of,
)


def records(project_dir, kind):
    store = Project.open(project_dir).store()
    try:
        return list(store.records_of_kind(kind))
    finally:
        store.close()


def progress(project_dir, step):
    store = Project.open(project_dir).store()
    try:
        return {row["item_id"]: dict(row) for row in store.progress.rows(step)}
    finally:
        store.close()


def test_answers_cite_only_retrieved_passages(tmp_path):
    project = make_answer_project(tmp_path / "p")
    prompts = seed_prompts(project)

    def script(step, body):
        if template_of(step, body) == "answer":  # one real citation, one of a passage that was never retrieved
            return json.dumps({"answer": "Quarks come in six flavours [1]. They carry colour [2, 9]. Also [7]."})
        if template_of(step, body) == "answer_eval":
            return scores_reply(4)
        return None  # queries: schema-valid text from the fake

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)

    queries = records(project, "query")
    assert len(queries) == 2 * len(prompts)
    assert {q.meta["prompt_id"] for q in queries} == {p.id for p in prompts}
    assert all(q.meta["purpose"] == "answer" for q in queries)
    assert {p.text for p in prompts} <= {q.text for q in queries}  # the prompt itself is query 0

    passages = {p.id: p for p in records(project, "passage")}
    assert passages and all(p.meta["url"].startswith("local://corpus/") for p in passages.values())

    answers = records(project, "answer")
    assert len(answers) == len(prompts)
    for answer in answers:
        assert answer.meta["rag"] is True
        assert answer.meta["invalid_citations"] == [9, 7]
        assert answer.meta["uncited"] is False
        cited = {int(n) for group in re.findall(r"\[([\d, ]+)\]", answer.text) for n in group.split(",")}
        assert cited == {1, 2}
        own_passages = answer.meta["passage_ids"]
        assert set(own_passages) <= set(passages)
        assert all(passages[pid].meta["prompt_id"] == answer.meta["prompt_id"] for pid in own_passages)
        for citation in answer.meta["citations"]:
            assert citation["passage_id"] == own_passages[citation["n"] - 1]
            assert citation["url"] == passages[citation["passage_id"]].meta["url"]
        assert answer.meta["scores"]["groundedness"]["score"] == 4


def test_the_answer_request_numbers_exactly_the_retrieved_passages(tmp_path):
    project = make_answer_project(tmp_path / "p")
    prompts = {p.id: p for p in seed_prompts(project)}
    fenced_passages = {}  # question -> passages fenced in its answer request

    def script(step, body):
        if template_of(step, body) == "answer":
            text = body["messages"][-1]["content"]
            question = text.split("<QUESTION>\n", 1)[1].split("\n</QUESTION>", 1)[0]
            fenced_passages[question] = text.count("<PASSAGE>")
            return json.dumps({"answer": "Six flavours [1]."})
        return scores_reply(5) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)
    answers = records(project, "answer")
    assert len(answers) == len(prompts)
    for answer in answers:
        question = prompts[answer.meta["prompt_id"]].text
        assert fenced_passages[question] == len(answer.meta["passage_ids"]) == 3  # passages_per_answer


def test_rag_off_answers_from_the_model_alone_and_marks_them(tmp_path):
    project = make_answer_project(tmp_path / "p", rag=False)
    prompts = seed_prompts(project)
    asked = []

    def script(step, body):
        asked.append(template_of(step, body))
        if template_of(step, body) == "answer_closed_book":
            return json.dumps({"answer": "Six flavours: up, down, strange, charm, bottom, top."})
        return scores_reply(4) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)

    answers = records(project, "answer")
    assert len(answers) == len(prompts)
    assert all(a.meta["rag"] is False and a.meta["citations"] == [] for a in answers)
    assert records(project, "query") == [] and records(project, "passage") == []
    assert set(asked) == {"answer_closed_book", "answer_eval"}


def test_low_scores_are_dropped_with_a_reason(tmp_path):
    project = make_answer_project(tmp_path / "p", threshold=3.0, below_threshold="drop")
    prompts = seed_prompts(project)

    def script(step, body):
        if template_of(step, body) == "answer":
            return json.dumps({"answer": "Answer [1]."})
        if template_of(step, body) == "answer_eval":
            return scores_reply(1 if "gluons interact" in body["messages"][-1]["content"] else 5)
        return None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)

    by_prompt = {a.meta["prompt_id"]: a for a in records(project, "answer")}
    low, high = by_prompt[prompts[1].id], by_prompt[prompts[0].id]
    assert low.status == "dropped" and low.reason == "low_score" and low.meta["score_mean"] == 1.0
    assert high.status == "kept" and high.meta["needs_review"] is False
    rows = progress(project, "answer_eval")
    assert rows[low.id]["outcome"] == "dropped" and "mean 1.0 < threshold 3.0" in rows[low.id]["detail"]


def test_low_scores_can_be_routed_to_review_instead(tmp_path):
    project = make_answer_project(tmp_path / "p", threshold=3.0, below_threshold="review")
    seed_prompts(project)

    def script(step, body):
        if template_of(step, body) == "answer":
            return json.dumps({"answer": "Answer [1]."})
        return scores_reply(2) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)

    answers = records(project, "answer")
    assert answers and all(a.status == "kept" and a.meta["needs_review"] is True for a in answers)
    assert all(a.meta["scores"]["style"] == {"score": 2, "why": "style judged 2"} for a in answers)


def test_a_prompt_whose_queries_failed_waits_and_is_answered_after_the_retry(tmp_path):
    project = make_answer_project(tmp_path / "p")
    prompts = seed_prompts(project, [("How many quark flavours are there?", "quarks")])

    def failing(step, body):
        return {"status": 400, "reply": "bad request"} if template_of(step, body) == "answer_queries" else None

    def working(step, body):
        if template_of(step, body) == "answer":
            return json.dumps({"answer": "Six [1]."})
        return scores_reply(4) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(failing)
        run_answers(project, server)
        assert records(project, "answer") == []
        waiting = progress(project, "answer_retrieve")[prompts[0].id]
        assert waiting["outcome"] == "error" and waiting["reason"] == "UpstreamPending"
        server.clear_scripts()
        server.script_steps(working)
        run_answers(project, server)
    (answer,) = records(project, "answer")
    assert answer.status == "kept" and answer.meta["citations"][0]["n"] == 1


def test_copied_placeholders_and_empty_queries_are_not_searched(tmp_path):
    project = make_answer_project(tmp_path / "p", queries_per_prompt=5)  # the prompt and the 4 written
    (prompt,) = seed_prompts(project, [("How many quark flavours are there?", "quarks")])

    def script(step, body):
        if template_of(step, body) == "answer_queries":
            return json.dumps({"queries": ["<query 1>", ",", "quark colour charge", "QUARK COLOUR CHARGE"]})
        if template_of(step, body) == "answer":
            return json.dumps({"answer": "Six [1]."})
        return scores_reply(4) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)
    queries = sorted(records(project, "query"), key=lambda q: q.meta["index"])
    assert [q.text for q in queries] == [prompt.text, "quark colour charge"]


def test_a_copied_placeholder_is_dropped_with_its_reason(tmp_path):
    project = make_answer_project(tmp_path / "p")
    (prompt,) = seed_prompts(project, [("How many quark flavours are there?", "quarks")])

    def script(step, body):
        return json.dumps({"answer": "<the answer with its citations>"}) if template_of(step, body) == "answer" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)
    assert records(project, "answer") == []
    assert progress(project, "answer")[prompt.id]["reason"] == "placeholder_answer"
