"""An expert's pick over the real candidate steps (answer, answer_eval, answer_select and the gate): it
replaces the judge's choice in the SFT export for that prompt only, sends no request, makes the
`expert_pick` preference rows, and survives `answer_select` choosing again (its template edited)."""

from __future__ import annotations

import yaml

from sftgen.llm.templates import PACKAGE_TEMPLATES
from tests.support.answer_project import make_answer_project, seed_prompts
from tests.support.review_client import signed_in
from tests.support.review_forms import submit
from tests.support.review_runs import exported
from tests.test_answer_candidates import Model, answers, run


def reviewed_project(tmp_path):
    root = make_answer_project(tmp_path / "p", candidates=3)
    recipe = yaml.safe_load((root / "recipe.yaml").read_text())
    recipe["review"] = {"policy": "all", "kinds": ["answer"]}
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    prompts = seed_prompts(root)
    model = Model(prefer="candidate 2")
    run(root, model)
    return root, prompts, model


def candidates_of_first(root, prompts):
    return sorted((a for a in answers(root) if a.meta["prompt_id"] == prompts[0].id),
                  key=lambda a: a.meta["candidate_index"])


def requests(model) -> int:
    return sum(len(v) for v in model.requests.values())


def test_a_pick_replaces_the_judges_choice_for_that_prompt_only(tmp_path):
    root, prompts, model = reviewed_project(tmp_path)
    sft_before = {r["prompt_id"]: r for r in exported(root, "sft")}
    first = candidates_of_first(root, prompts)
    assert len(first) == 3
    client = signed_in(root)
    assert client.get(f"/item/{first[0].id}").text.count('data-testid="candidate"') == 3
    judge_pick = next(a for a in first if a.meta.get("judge_chosen"))
    other = next(a for a in first if not a.meta.get("judge_chosen"))
    assert submit(client, first[0].id, ("pick", other.id)).status_code == 303

    sent = requests(model)
    run(root, model)
    assert requests(model) == sent
    after = {a.id: a.meta for a in answers(root)}
    assert after[other.id]["chosen"] is True and after[other.id]["chosen_by"] == "expert"
    assert after[judge_pick.id]["chosen"] is False and after[judge_pick.id]["judge_chosen"] is True
    sft = {r["prompt_id"]: r for r in exported(root, "sft")}
    assert sft[prompts[0].id]["answer_id"] == other.id
    assert sft[prompts[1].id] == sft_before[prompts[1].id]
    picks = [r for r in exported(root, "preferences") if r["source"] == "expert_pick"]
    assert sorted(r["rejected_id"] for r in picks) == sorted(a.id for a in first if a.id != other.id)
    assert {r["chosen_id"] for r in picks} == {other.id}


def test_the_pick_survives_answer_select_choosing_again(tmp_path):
    root, prompts, model = reviewed_project(tmp_path)
    first = candidates_of_first(root, prompts)
    other = next(a for a in first if not a.meta.get("judge_chosen"))
    submit(signed_in(root), first[0].id, ("pick", other.id))
    run(root, model)
    (root / "templates").mkdir(exist_ok=True)
    text = (PACKAGE_TEMPLATES / "answer_compare.jinja").read_text()
    (root / "templates" / "answer_compare.jinja").write_text(text + "\nBe strict.\n")
    run(root, model)
    after = {a.id: a.meta for a in answers(root)}
    assert after[other.id]["chosen"] is True and after[other.id]["chosen_by"] == "expert"
    sft = {r["prompt_id"]: r for r in exported(root, "sft")}
    assert sft[prompts[0].id]["answer_id"] == other.id
