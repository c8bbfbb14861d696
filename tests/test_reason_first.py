"""`filters.reason_first`: the chunk filter, the prompt filter and the answer judge ask for the reason
before the verdict (or score), so a capable model's verdict follows from what it wrote. `auto` turns it on
with provider openai and off with the embedded SmolLM2-135M, which then judged worse (bench/relevance_gate.py:
BBC News, LLM alone F1 0.00 with the reason first, 0.69 with the verdict first)."""

from __future__ import annotations

import pytest
import yaml

from sftgen.recipe import Recipe
from tests.support.answer_project import make_answer_project, run_with_judge, seed_prompts
from tests.support.prompt_script import PromptScript
from tests.test_prompt_pipeline import docs_for, make_project, recipe, scripted_run

DOMAIN = {"name": "d", "subdomains": [{"name": "a", "share": 1}]}


@pytest.mark.parametrize("setting,provider,expected", [
    ("auto", "openai", True), ("auto", "embedded", False), (True, "embedded", True), (False, "openai", False)])
def test_auto_asks_the_reason_first_of_hosted_models_only(setting, provider, expected):
    llm = {"provider": provider, **({"base_url": "http://127.0.0.1:9/v1", "model": "m"} if provider == "openai" else {})}
    recipe_ = Recipe.model_validate({"domain": DOMAIN, "llm": llm, "filters": {"reason_first": setting}})
    assert recipe_.filters.reasons_first(recipe_.llm.provider) is expected


class Recorder(PromptScript):
    def __init__(self):
        super().__init__()
        self.bodies: dict[str, list[dict]] = {}

    def __call__(self, step, body):
        self.bodies.setdefault(step, []).append(body)
        return super().__call__(step, body)


def schema_order(body) -> list[str]:
    return list(body["response_format"]["json_schema"]["schema"]["properties"])


def user(body) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")


@pytest.mark.parametrize("reason_first", [True, False])
def test_the_filters_ask_for_the_reason_before_the_verdict_when_set(tmp_path, reason_first):
    settings = recipe(target_total=None, per_profile=1, variants_per_prompt=0)
    settings["filters"] = {"reason_first": reason_first}
    project = make_project(tmp_path / "p", docs_for({"quarks": 1, "gluons": 1}), settings)
    script = Recorder()
    scripted_run(project, script)
    for step in ("chunk_filter", "prompt_filter"):
        bodies = script.bodies[step]
        assert bodies
        order = schema_order(bodies[0])
        assert order == (["explanation", "verdict"] if reason_first else ["verdict", "explanation"])
        assert ("First the explanation" in user(bodies[0])) is reason_first


def test_the_judge_writes_why_before_each_score_when_set(tmp_path):
    project = make_answer_project(tmp_path / "p")
    settings = yaml.safe_load((project / "recipe.yaml").read_text())
    settings["filters"] = {"reason_first": True}
    (project / "recipe.yaml").write_text(yaml.safe_dump(settings))
    seed_prompts(project)
    judged = run_with_judge(project, 4)
    assert judged
    dimension = judged[0]["response_format"]["json_schema"]["schema"]
    first = next(iter(dimension["properties"].values()))
    ref = first.get("$ref", "").split("/")[-1]
    properties = dimension["$defs"][ref]["properties"] if ref else first["properties"]
    assert list(properties) == ["why", "score"]
    assert "first one short sentence on this answer, then the score" in user(judged[0])
