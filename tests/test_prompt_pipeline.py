"""The prompt half on the fake server with a scripted model: chunk filter, profiles, quotas,
generate, broaden, rephrase, prompt filter, status and export."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.llm.client import Backoff, ChatClient
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.quotas.status import quota_status
from sftgen.quotas.targets import split_by_shares
from sftgen.run.runner import RunOptions, run_project
from sftgen.steps.rephrase import opener
from sftgen.store import open_store
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.projects import make_project
from tests.support.prompt_script import PromptScript, physics_doc

SUBDOMAINS = [
    {"name": "quarks", "share": 0.4, "description": "quark flavours, charges and masses"},
    {"name": "gluons", "share": 0.4, "description": "gluons, colour charge and confinement"},
    {"name": "hadrons", "share": 0.2, "description": "baryons and mesons"},
]


def recipe(**prompts) -> dict:
    return {
        "project": "prompt-pipeline-test",
        "domain": {"name": "particle physics", "subdomains": SUBDOMAINS},
        "chunking": {"size": 2000, "overlap": 100},
        "profiles": {"min_chunk_chars": 100},
        "prompts": {"target_total": 20, "overshoot": 1.0, "per_profile": 3, "variants_per_prompt": 1,
                    "max_opener_share": 0.3, **prompts},
    }


def docs_for(counts: dict[str, int]) -> dict[str, str]:
    return {f"{subject}-{i}.md": physics_doc(subject, f"{subject} topic {i}")
            for subject, count in counts.items() for i in range(count)}


def run(project_dir: Path, server) -> None:
    async def go():
        client = ChatClient(server.base_url, "fake-model", max_concurrency=4, max_retries=2,
                            backoff=Backoff(0.001, 0.01))
        try:
            project = Project.open(project_dir)
            until = standard_pipeline(project.recipe).final("prompt").name
            return await run_project(project, RunOptions(until=until), llm=client)
        finally:
            await client.aclose()

    asyncio.run(go())


def scripted_run(project_dir: Path, script: PromptScript) -> dict:
    with running_fake_server() as server:
        server.script_steps(script)
        run(project_dir, server)
        return server.stats()


def kept_prompts(project_dir: Path) -> list:
    project = Project.open(project_dir)
    store = project.store()
    try:
        final = standard_pipeline(project.recipe).final("prompt").name
        return [r for r in store.emitted(final, kind="prompt") if r.status == "kept"]
    finally:
        store.close()


def progress(project_dir: Path, step: str) -> list[dict]:
    store = open_store(project_dir)
    try:
        return [dict(row) for row in store.progress.rows(step)]
    finally:
        store.close()


def test_split_by_shares_adds_up_to_the_total():
    assert split_by_shares(20, {"a": 0.4, "b": 0.4, "c": 0.2}) == {"a": 8, "b": 8, "c": 4}
    counts = split_by_shares(7, {"a": 0.4, "b": 0.4, "c": 0.2})
    assert sum(counts.values()) == 7 and all(abs(counts[k] - 7 * s) < 1 for k, s in [("a", .4), ("b", .4), ("c", .2)])


def test_quotas_are_met_within_one_prompt_per_subdomain(tmp_path):
    # Far more material for quarks than its share: generation must stop there and spread hadrons'
    # quota over its only two profiles.
    project = make_project(tmp_path / "p", docs_for({"quarks": 9, "gluons": 5, "hadrons": 2}), recipe())
    scripted_run(project, PromptScript())
    by_subdomain = Counter(p.meta["subdomain"] for p in kept_prompts(project))
    targets = {"quarks": 8, "gluons": 8, "hadrons": 4}
    for name, target in targets.items():
        assert abs(by_subdomain[name] - target) <= 1, (name, by_subdomain)
    store = open_store(project)
    full = Counter(store.get(row["item_id"]).meta["subdomain"] for row in progress(project, "generate")
                   if row["outcome"] == "dropped" and row["reason"] == "quota_full")
    assert full == {"quarks": 5, "gluons": 1}  # one seed + one variant a profile fills 8 from 4 profiles
    recipe_model = Project.open(project).recipe
    status = quota_status(store, recipe_model, standard_pipeline(recipe_model))
    store.close()
    assert [(row["subdomain"], row["target"]) for row in status] == list(targets.items())
    assert all(row["deficit"] == max(0, row["target"] - row["actual"]) for row in status)


def test_over_represented_openers_are_rephrased_and_keep_their_parent(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 2, "gluons": 2, "hadrons": 1}),
                           recipe(target_total=None, per_profile=2, max_opener_share=0.25))
    script = PromptScript(opener="Could you please explain")
    scripted_run(project, script)
    prompts = kept_prompts(project)
    assert len(prompts) == 5 * 2 * 2
    openers = Counter(opener(p.text, 3) for p in prompts)
    allowed = int(0.25 * len(prompts))
    assert openers["could you please"] == allowed
    rephrased = [p for p in prompts if p.meta.get("rephrased_from")]
    assert len(rephrased) == len(prompts) - allowed == script.requests["rephrase"]
    store = open_store(project)
    for prompt in rephrased:
        original = store.get(prompt.meta["rephrased_from"])
        assert original.text.startswith("Could you please explain") and prompt.parent_ids == [original.id]
        assert original.text.removeprefix("Could you please explain").strip() in prompt.text
    store.close()


def test_a_prompt_with_a_false_premise_is_dropped_with_its_reason(tmp_path):
    docs = docs_for({"quarks": 1, "gluons": 1, "hadrons": 1})
    docs["quarks-0.md"] = physics_doc("quarks", "quark counting", "Some say there are four types of quarks.")
    project = make_project(tmp_path / "p", docs, recipe(target_total=None, variants_per_prompt=0))
    scripted_run(project, PromptScript())
    rows = progress(project, "prompt_filter")
    dropped = [row for row in rows if row["outcome"] == "dropped"]
    assert [row["reason"] for row in dropped] == ["incorrect_premise"]
    assert "four types of quarks" in dropped[0]["detail"]
    store = open_store(project)
    record = store.get(dropped[0]["item_id"])
    assert record.status == "dropped" and record.reason == "incorrect_premise" and "four types" in record.text
    store.close()
    assert all("four types" not in p.text for p in kept_prompts(project))


def test_an_off_domain_chunk_is_dropped_with_its_reason(tmp_path):
    docs = docs_for({"quarks": 1, "gluons": 1})
    docs["pasta.md"] = "OFF-DOMAIN. " + " ".join(f"Boil the pasta for {i} minutes." for i in range(20))
    docs["stub.md"] = "Quarks."
    project = make_project(tmp_path / "p", docs, recipe(target_total=None))
    scripted_run(project, PromptScript())
    rows = {row["label"]: row for row in progress(project, "chunk_filter")}
    assert rows["docs/pasta.md"]["outcome"] == "dropped" and rows["docs/pasta.md"]["reason"] == "off_domain"
    assert "cooking" in rows["docs/pasta.md"]["detail"]
    assert rows["docs/stub.md"]["reason"] == "too_thin" and rows["docs/stub.md"]["llm_requests"] == 0
    assert {row["outcome"] for label, row in rows.items() if label not in ("docs/pasta.md", "docs/stub.md")} == {"kept"}


def test_profile_subdomains_are_normalised_or_dropped(tmp_path):
    docs = {
        "a.md": physics_doc("QUARKS", "charges"),              # exact, other case
        "b.md": physics_doc("baryons and mesons", "protons"),  # by embedding similarity
        "c.md": physics_doc("cooking pasta", "sauces"),        # nothing close: off_subdomain
    }
    project = make_project(tmp_path / "p", docs, recipe(target_total=None))
    scripted_run(project, PromptScript())
    store = open_store(project)
    profiles = {p.meta["subdomain_raw"]: p for p in store.emitted("profile")}
    assert profiles["QUARKS"].meta["subdomain"] == "quarks" and profiles["QUARKS"].meta["subdomain_match"] == "exact"
    assert profiles["baryons and mesons"].meta["subdomain"] == "hadrons"
    assert profiles["baryons and mesons"].meta["subdomain_match"] == "embedding"
    dropped = [dict(r) for r in store.progress.rows("profile") if r["outcome"] == "dropped"]
    store.close()
    assert [r["reason"] for r in dropped] == ["off_subdomain"] and "cooking pasta" in dropped[0]["detail"]


def test_editing_one_template_re_asks_only_that_steps_requests(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 2, "gluons": 2, "hadrons": 1}), recipe())
    first = PromptScript()
    scripted_run(project, first)
    before = {step: sum(r["llm_requests"] for r in progress(project, step)) for step in first.requests}
    assert before == dict(first.requests)
    kept_before = {p.id for p in kept_prompts(project)}

    package = Path(__file__).resolve().parents[1] / "src" / "sftgen" / "templates" / "chunk_filter.jinja"
    (project / "templates").mkdir()
    (project / "templates" / "chunk_filter.jinja").write_text(
        package.read_text() + "Be strict about what counts as informative.\n")
    second = PromptScript()
    stats = scripted_run(project, second)
    assert dict(second.requests) == {"chunk_filter": 5} and stats["requests"] == 5
    after = {step: sum(r["llm_requests"] for r in progress(project, step)) for step in first.requests}
    assert {step for step in after if after[step] != before[step]} == set()  # same counts, new rows
    assert all(r["llm_requests"] == 1 for r in progress(project, "chunk_filter"))
    assert {p.id for p in kept_prompts(project)} == kept_before


def test_status_json_has_quotas_and_export_has_provenance(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 2, "gluons": 2, "hadrons": 1}), recipe())
    scripted_run(project, PromptScript())
    runner = CliRunner()
    status = json.loads(runner.invoke(app, ["status", str(project), "--json"]).stdout)
    assert [row["subdomain"] for row in status["quotas"]] == ["quarks", "gluons", "hadrons"]
    assert sum(row["actual"] for row in status["quotas"]) == len(kept_prompts(project))
    out = tmp_path / "prompts.jsonl"
    result = runner.invoke(app, ["export", str(project), "--what", "prompts", "--out", str(out)])
    assert result.exit_code == 0, result.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(kept_prompts(project))
    for row in rows:
        kinds = [entry["kind"] for entry in row["provenance"]]
        assert kinds[-3:] == ["profile", "chunk", "document"]
        assert row["provenance"][-1]["source"].endswith(".md")
        assert "prompt_filter" in [entry["step"] for entry in row["history"]]
        assert row["made_by"] in ("generate", "broaden", "rephrase")
        if row["made_by"] == "rephrase":  # the original prompt, with its text, is the nearest ancestor
            assert row["provenance"][0]["id"] == row["meta"]["rephrased_from"] and row["provenance"][0]["text"]
    assert {row["made_by"] for row in rows} == {"generate", "broaden", "rephrase"}


@pytest.mark.parametrize("bad", [{"per_profile": 0}, {"colour": "red"}, {"task_types": ["a", "a"]}])
def test_prompt_settings_refuse_bad_values(tmp_path, bad):
    project = make_project(tmp_path / "p", {}, recipe(**bad))
    result = CliRunner().invoke(app, ["validate", str(project), "--skip-llm"])
    assert result.exit_code == 2 and "prompts" in result.stdout


def test_new_material_fills_the_deficit_of_an_under_filled_subdomain_only(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 6, "gluons": 6, "hadrons": 1}),
                           recipe(per_profile=2, variants_per_prompt=0))
    scripted_run(project, PromptScript())
    first = Counter(p.meta["subdomain"] for p in kept_prompts(project))
    assert first == {"quarks": 8, "gluons": 8, "hadrons": 2}  # one hadrons profile: at most per_profile
    for i in range(1, 4):
        (project / "docs" / f"hadrons-{i}.md").write_text(physics_doc("hadrons", f"hadrons topic {i}"))
    second = PromptScript()
    scripted_run(project, second)
    assert Counter(p.meta["subdomain"] for p in kept_prompts(project)) == {"quarks": 8, "gluons": 8, "hadrons": 4}
    # Only the new material is asked about; the deficit of 2 is spread over the 3 new hadrons profiles.
    assert second.requests["profile"] == 3 and second.requests["generate"] == 2


def test_editing_the_generate_template_keeps_the_quotas(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 5, "gluons": 5, "hadrons": 3}), recipe())
    scripted_run(project, PromptScript())
    package = Path(__file__).resolve().parents[1] / "src" / "sftgen" / "templates" / "generate.jinja"
    (project / "templates").mkdir()
    (project / "templates" / "generate.jinja").write_text(package.read_text() + "Prefer concrete numbers.\n")
    scripted_run(project, PromptScript())
    by_subdomain = Counter(p.meta["subdomain"] for p in kept_prompts(project))
    for name, target in {"quarks": 8, "gluons": 8, "hadrons": 4}.items():
        assert abs(by_subdomain[name] - target) <= 1, (name, by_subdomain)


@pytest.mark.parametrize("raw, cleaned, usable", [
    ("} How many quark flavours are there?", "How many quark flavours are there?", True),
    ("1. Explain colour confinement.", "Explain colour confinement.", True),
    ("Q: Why are gluons massless?", "Why are gluons massless?", True),
    ("Gluons and the strong force", "Gluons and the strong force", False),
    ("According to the text, what is a hadron?", "According to the text, what is a hadron?", False),
])
def test_prompt_text_is_cleaned_and_checked(raw, cleaned, usable):
    from sftgen.steps.prompt_records import clean_prompt, is_request, self_contained

    assert clean_prompt(raw) == cleaned
    assert (is_request(cleaned) and self_contained(cleaned)) is usable


def test_profiles_declined_as_full_get_another_turn_when_the_filter_leaves_a_subdomain_short(tmp_path):
    # 12 quarks profiles for a quota of 8, one prompt each: 4 are declined as full at first. Four
    # documents make a prompt with a false premise, which the prompt filter drops; the declined
    # profiles then make up the shortfall within the same run.
    docs = docs_for({"quarks": 12})
    for i in range(4):
        docs[f"quarks-{i}.md"] = physics_doc("quarks", f"quarks topic {i}", extra="There are four types of quarks.")
    project = make_project(tmp_path / "p", docs, recipe(per_profile=1, variants_per_prompt=0))
    first = PromptScript()
    scripted_run(project, first)
    assert Counter(p.meta["subdomain"] for p in kept_prompts(project)) == {"quarks": 8}
    outcomes = Counter((row["outcome"], row["reason"]) for row in progress(project, "generate"))
    false_premises = Counter(row["reason"] for row in progress(project, "prompt_filter"))["incorrect_premise"]
    assert false_premises == 4
    assert outcomes == {("kept", None): 12} and first.requests["generate"] == 12
    second = PromptScript()
    scripted_run(project, second)
    assert sum(second.requests.values()) == 0  # nothing left short: an unchanged run asks nothing
