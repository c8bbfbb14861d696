"""A filter that drops nearly everything it judges stops the run with one line, instead of letting the run
finish with nothing (a small model that took a template's example for the rule dropped 30 of 30 prompts as
incorrect_premise). A filter made advisory in the recipe drops nothing and records its verdict instead."""

from __future__ import annotations

from sftgen.store import open_store
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.projects import make_project
from tests.support.prompt_script import PromptScript, physics_doc
from tests.test_cli_output import app, fake_llm_env, no_traceback, runner
from tests.test_prompt_pipeline import docs_for, progress, recipe


class PremiseObsessedModel(PromptScript):
    """Finds a false premise in every question, the same one each time."""

    def prompt_filter(self, user):
        return {"verdict": "incorrect_premise", "explanation": "A proton is not made of two quarks."}


def project_with(tmp_path, docs=None, **filters):
    settings = recipe(target_total=None, per_profile=3, variants_per_prompt=1, max_opener_share=1.0)
    settings.update({"answers": {"enabled": False}, "llm": {"max_retries": 0}, "filters": filters})
    return make_project(tmp_path / "p", docs or docs_for({"quarks": 4, "gluons": 4, "hadrons": 2}), settings)


def test_a_filter_that_drops_everything_stops_the_run_with_one_line(tmp_path):
    project = project_with(tmp_path)
    with running_fake_server() as server:
        server.script_steps(PremiseObsessedModel(opener="Could you please explain"))
        ran = runner.invoke(app, ["run", str(project)], env=fake_llm_env(server))
    assert ran.exit_code == 3 and no_traceback(ran), ran.output
    assert "prompt_filter dropped 20 of the 20 items it judged in this run (20 incorrect_premise)" in \
        " ".join(ran.output.split())
    rows = progress(project, "prompt_filter")
    assert len(rows) >= 20 and all(row["reason"] == "incorrect_premise" for row in rows)  # what was judged is kept
    # The stop comes before the filter has judged everything that was made.
    store = open_store(project)
    try:
        made = sum(1 for _ in store.emitted("rephrase", kind="prompt"))
    finally:
        store.close()
    assert made > len(rows)


def test_an_advisory_filter_keeps_every_item_and_records_its_verdict(tmp_path):
    project = project_with(tmp_path, advisory=["prompt_filter"])
    with running_fake_server() as server:
        server.script_steps(PremiseObsessedModel(opener="Could you please explain"))
        ran = runner.invoke(app, ["run", str(project)], env=fake_llm_env(server))
    assert ran.exit_code == 0 and no_traceback(ran), ran.output
    rows = progress(project, "prompt_filter")
    assert len(rows) > 20
    assert {(row["outcome"], row["reason"]) for row in rows} == {("kept", "advisory")}
    assert all(row["detail"].startswith("would drop as incorrect_premise: A proton") for row in rows)


def test_a_filter_that_drops_some_goes_on(tmp_path):
    docs = docs_for({"quarks": 4, "gluons": 4, "hadrons": 2})
    for name in ("quarks-0.md", "quarks-1.md", "gluons-0.md"):
        docs[name] = physics_doc(name.split("-")[0], f"{name} topic", "Some say there are seven quark flavours.")
    project = project_with(tmp_path, docs, stop_min_items=5)
    with running_fake_server() as server:
        server.script_steps(PromptScript(opener="Could you please explain", false_claims=["seven quark flavours"]))
        ran = runner.invoke(app, ["run", str(project)], env=fake_llm_env(server))
    assert ran.exit_code == 0, ran.output
    reasons = [row["reason"] for row in progress(project, "prompt_filter") if row["outcome"] == "dropped"]
    assert reasons and set(reasons) == {"incorrect_premise"}
