"""Reviewing a prompt's candidate answers (issue 15 item 3): the review app shows them side by side as one
queue item with their passages and the judge's scores; a reviewer picks one (as it is, or edited) or
rejects them all; the answer review gate makes the pick `chosen: true, chosen_by: "expert"` and the others
not chosen, keeps `judge_chosen`, changes nothing of other prompts and sends no LLM request; the preference
export holds exactly the pick's and the edit's pairs. Candidates are made as tests/support/candidate_project.py
says (the real answer steps on the fake server, plus candidates 1 and 2 as the answer step will emit them)."""

from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.decisions.log import ReviewLog
from sftgen.export.preferences import KeptAnswer, expert_preferences, preference_rows
from sftgen.records import Record
from sftgen.store import open_store
from sftgen.store.db import SCHEMA
from sftgen.project import Project
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.candidate_project import JudgeByText, gate_output, make_candidate_project, run_steps
from tests.support.review_client import signed_in
from tests.support.review_forms import submit
from tests.support.review_runs import exported

PROMPTS = [
    ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
    ("Why do gluons interact with each other, unlike photons?", "gluons"),
    ("What is a baryon made of, and how does it differ from a meson?", "quarks"),
    ("Why can a free quark never be observed in a detector?", "gluons"),
]
EDITED = "Gluons carry colour charge, so they couple to each other; photons carry no electric charge [1]."


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """Four prompts with three candidates each (the judge picks candidate 1); ana picks candidate 2 of the
    first prompt, picks candidate 0 of the second after editing it, rejects all of the third, leaves the
    fourth; then the pipeline runs again."""
    root = tmp_path_factory.mktemp("candidates") / "p"
    with running_fake_server() as llm:
        judge = JudgeByText(default=3)
        sets = make_candidate_project(root, PROMPTS, llm, judge, policy="all")
        before = {record.id: record.meta for record in gate_output(root)}
        assert len(before) == 12

        client = signed_in(root, "ana")
        pages = {n: client.get(f"/item/{s.ids[0]}").text for n, s in enumerate(sets)}
        queue = client.get("/next?kind=answer", follow_redirects=True).text
        picked = submit(client, sets[0].ids[0], ("pick", sets[0].ids[2]))
        edited = submit(client, sets[1].ids[1], ("pick", sets[1].ids[0]), **{f"edited_text_{sets[1].ids[0]}": EDITED})
        rejected = submit(client, sets[2].ids[0], ("reject_all", "1"), reason="incorrect",
                          reason_text="all three miss the point")
        assert [r.status_code for r in (picked, edited, rejected)] == [303, 303, 303], picked.text + edited.text
        requests_before = judge.requests
        run_steps(root, llm, "answer_eval", "answer_review_gate")
        requests_in_last_run = judge.requests - requests_before
    return {"root": root, "sets": sets, "pages": pages, "queue": queue, "before": before,
            "requests_in_last_run": requests_in_last_run}


def decisions(root):
    store = Project.open(root).store()
    try:
        return ReviewLog(store).decisions()
    finally:
        store.close()


def test_a_prompts_candidates_are_one_queue_item_side_by_side(reviewed):
    sets, page = reviewed["sets"], reviewed["pages"][0]
    assert re.findall(r'data-candidate-id="([^"]+)"', page) == sets[0].ids
    shown = re.findall(r'data-testid="candidate".*?</section>', page, re.S)
    assert all('data-testid="passage"' in part for part in shown)  # each with the passages it was written from
    assert re.findall(r'judge mean ([0-9.]+)', page) == ["3.0", "5.0", "4.0"]
    assert page.count('data-testid="judge-chosen"') == 1 and 'id="pick-3"' in page
    assert "the best rubric score" in page  # the judge's reason
    assert re.search(r'data-item-id="([^"]+)"', reviewed["queue"]).group(1) in {s.ids[0] for s in sets}
    for n, s in enumerate(sets):  # any candidate's address shows the same item, the first candidate's
        assert f'data-item-id="{s.ids[0]}"' in reviewed["pages"][n]


def test_a_pick_makes_it_chosen_by_the_expert_and_keeps_the_judges_pick(reviewed):
    sets = reviewed["sets"]
    after = {record.id: record for record in gate_output(reviewed["root"])}
    first = [after[i].meta for i in sets[0].ids]
    assert [m["chosen"] for m in first] == [False, False, True]
    assert [m["chosen_by"] for m in first] == ["expert"] * 3
    assert [m["judge_chosen"] for m in first] == [False, True, False]  # the judge's own pick, kept
    assert first[2]["picked_by"] == "ana" and first[2]["chosen_reason"] == "picked by reviewer ana"
    edits = [d for d in decisions(reviewed["root"]) if d.decision == "edit"]
    assert len(edits) == 1 and edits[0].picked and edits[0].item_id == sets[1].ids[0]
    edited = after[edits[0].new_version_id]
    assert edited.text == EDITED and edited.meta["chosen"] is True and edited.meta["chosen_by"] == "expert"
    assert sets[1].ids[0] not in after  # the edit goes on in its place
    assert [after[i].meta["chosen"] for i in sets[1].ids[1:]] == [False, False]


def test_reject_all_drops_every_candidate_and_other_prompts_are_untouched(reviewed):
    sets, before = reviewed["sets"], reviewed["before"]
    after = {record.id: record.meta for record in gate_output(reviewed["root"])}
    assert not set(sets[2].ids) & set(after)
    rejects = [d for d in decisions(reviewed["root"]) if d.decision == "reject"]
    assert sorted(d.item_id for d in rejects) == sorted(sets[2].ids)
    assert {d.reason for d in rejects} == {"all three miss the point"}
    assert {i: after[i] for i in sets[3].ids} == {i: before[i] for i in sets[3].ids}
    assert [after[i]["chosen_by"] for i in sets[3].ids] == ["judge"] * 3
    assert reviewed["requests_in_last_run"] == 0  # decisions flow back without asking the LLM


def test_the_pick_and_the_edit_make_exactly_these_preference_rows(reviewed):
    sets = reviewed["sets"]
    edit = next(d for d in decisions(reviewed["root"]) if d.decision == "edit")
    rows = exported(reviewed["root"], "preferences")
    got = [(row["source"], row["prompt_id"], row["chosen_id"], row["rejected_id"], row["reviewer"]) for row in rows]
    a, b = sets[0], sets[1]
    assert got == [
        ("expert_pick", a.prompt.id, a.ids[2], a.ids[0], "ana"),
        ("expert_pick", a.prompt.id, a.ids[2], a.ids[1], "ana"),
        ("expert_edit", b.prompt.id, edit.new_version_id, b.ids[0], "ana"),
        ("expert_pick", b.prompt.id, edit.new_version_id, b.ids[1], "ana"),
        ("expert_pick", b.prompt.id, edit.new_version_id, b.ids[2], "ana"),
    ]
    texts = {row["chosen_id"]: row["chosen"][0]["content"] for row in rows}
    assert texts[a.ids[2]] == a.texts[2] and texts[edit.new_version_id] == EDITED
    assert [row["rejected"][0]["content"] for row in rows[:2]] == a.texts[:2]
    assert [(row["chosen_score"], row["rejected_score"]) for row in rows[:2]] == [(4.0, 3.0), (4.0, 5.0)]


def test_a_store_made_before_picks_gets_the_picked_column(tmp_path):
    path = tmp_path / ".sftgen" / "store.db"
    path.parent.mkdir()
    old = sqlite3.connect(path)
    before_picks = SCHEMA.replace(",\n    picked INTEGER NOT NULL DEFAULT 0", "")
    assert "picked" not in before_picks
    old.executescript(before_picks)
    old.execute("INSERT INTO reviews (item_id, kind, version_id, reviewer, decision, created_at) "
                "VALUES ('ans_1', 'answer', 'ans_1', 'ana', 'accept', 1.0)")
    old.commit()
    old.close()
    store = open_store(tmp_path)
    try:
        assert [(d.item_id, d.picked) for d in ReviewLog(store).decisions()] == [("ans_1", False)]
        assert ReviewLog(store).picks() == []
    finally:
        store.close()


def answer(text, index, **meta):
    return Record(kind="answer", text=text, parent_ids=["pro_1"], origin=f"candidate:{index}",
                  meta={"prompt_id": "pro_1", "candidate_index": index, **meta})


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=6, unique_by=str.strip),
       pick=st.integers(min_value=0, max_value=5), data=st.data())
def test_an_expert_pick_is_preferred_over_every_other_candidate_with_another_text(texts, pick, data):
    pick %= len(texts)
    judge = data.draw(st.integers(min_value=0, max_value=len(texts) - 1))
    kept = [KeptAnswer(answer(text, n, chosen=n == pick, chosen_by="expert", judge_chosen=n == judge,
                              **({"picked_by": "ana"} if n == pick else {})), accepted=n == pick)
            for n, text in enumerate(texts)]
    prompt = Record(kind="prompt", text="Why?", id="pro_1")
    rows = list(preference_rows(expert_preferences(prompt, kept, [])))
    others = [k.answer for n, k in enumerate(kept) if n != pick and texts[n].strip() != texts[pick].strip()]
    assert [(r["source"], r["chosen_id"], r["rejected_id"], r["reviewer"]) for r in rows] == [
        ("expert_pick", kept[pick].answer.id, other.id, "ana") for other in others]
    judged_only = [KeptAnswer(answer(text, n, chosen=n == judge, chosen_by="judge", judge_chosen=n == judge), True)
                   for n, text in enumerate(texts)]
    assert not [r for r in preference_rows(expert_preferences(prompt, judged_only, [])) if r["source"] == "expert_pick"]
