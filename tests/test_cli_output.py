"""What the command line prints: outside text shown as it is (never read as rich markup), user errors as
one line without a traceback, and a first run a newcomer can read in an 80-column terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from rich.console import Console
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.status_view import print_funnel
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.projects import example_project, make_project
from tests.support.prompt_script import PromptScript, physics_doc

runner = CliRunner()
MARKUP = "[/INST] [bold]"
SUBDOMAINS = [{"name": "quarks", "share": 0.5}, {"name": "gluons", "share": 0.5}]


def fake_llm_env(server) -> dict:
    return {"SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": server.base_url, "SFTGEN_LLM_MODEL": "fake"}


def no_traceback(result) -> bool:
    return result.exception is None or isinstance(result.exception, SystemExit)


class RefusingScript(PromptScript):
    """The prompt script, but every prompt opens with markup, and the chunk filter's request for one
    document is refused with markup in the server's message."""

    def __call__(self, step, body):
        text = "\n".join(m["content"] for m in body.get("messages") or [])
        if "Refuse this one." in text and step == "chunk_filter":
            return {"status": 400, "reply": f"{MARKUP} refused"}
        return super().__call__(step, body)


def scripted_project(root: Path) -> Path:
    documents = {f"{subject}-{i}.md": physics_doc(subject, f"{subject} topic {i}")
                 for subject in ("quarks", "gluons") for i in range(3)}
    documents["refused.md"] = physics_doc("quarks", "refused topic", "Refuse this one.")
    recipe = {"project": "markup", "domain": {"name": "particle physics", "subdomains": SUBDOMAINS},
              "chunking": {"size": 2000, "overlap": 100}, "profiles": {"min_chunk_chars": 100},
              "prompts": {"target_total": 8, "overshoot": 1.0, "per_profile": 2, "max_opener_share": 1.0},
              "dedup": {"methods": ["exact", "near"]}, "answers": {"enabled": False},
              "llm": {"max_retries": 0}}
    return make_project(root, documents, recipe)


def test_a_reply_with_markup_is_shown_by_validate_run_and_status(tmp_path):
    project = scripted_project(tmp_path / "p")
    with running_fake_server() as server:
        server.script(lambda body: json.dumps({"word": f"{MARKUP} OK"})
                      if "Reply with a JSON object" in json.dumps(body) else None)  # validate's probe
        server.script_steps(RefusingScript(opener=f"Could you please explain {MARKUP}"))
        env = fake_llm_env(server)
        validated = runner.invoke(app, ["validate", str(project)], env=env)
        ran = runner.invoke(app, ["run", str(project)], env=env)
    assert no_traceback(validated) and validated.exit_code in (0, 2), validated.output
    assert MARKUP in validated.output
    assert ran.exit_code == 0 and no_traceback(ran), ran.output
    assert f"  - Could you please explain {MARKUP}" in ran.output  # one of the prompts it made, as it is
    status = runner.invoke(app, ["status", str(project)])
    assert status.exit_code == 0 and no_traceback(status), status.output
    assert f"{MARKUP} refused" in status.output  # the server's message in the latest errors


def test_a_run_ends_with_prompts_it_made_and_the_next_commands(tmp_path):
    project = scripted_project(tmp_path / "p")
    with running_fake_server() as server:
        server.script_steps(PromptScript())
        ran = runner.invoke(app, ["run", str(project)], env=fake_llm_env(server))
    assert ran.exit_code == 0, ran.output
    tail = ran.output[ran.output.index("some of the prompts kept:"):]
    assert tail.count("  - Could you please explain") == 3
    for command in ("status", "review", "export"):
        assert f"sftgen {command} {project}" in tail


def test_the_funnel_fits_80_columns_with_whole_step_names_and_reasons(tmp_path):
    project = scripted_project(tmp_path / "p")
    with running_fake_server() as server:
        server.script_steps(PromptScript(false_claims=("four types of quarks", "topic 1")))
        assert runner.invoke(app, ["run", str(project)], env=fake_llm_env(server)).exit_code == 0
    shown = subprocess.run([sys.executable, "-m", "sftgen.cli", "status", str(project)], capture_output=True,
                           text=True, env={**os.environ, "COLUMNS": "80"}, check=True).stdout
    steps = json.loads(runner.invoke(app, ["status", str(project), "--json"]).output)["steps"]
    assert "…" not in shown and max(len(line) for line in shown.splitlines()) <= 80, shown
    reasons = {reason for step in steps for reason in [*step["dropped"], *step["error_reasons"]]}
    assert len(reasons) >= 2, steps
    for name in [step["name"] for step in steps] + sorted(reasons):
        assert f" {name} " in f" {shown.replace(':', ' ')} ".replace("\n", " "), name


def test_long_reasons_wrap_between_reasons_and_never_cut_a_name():
    reasons = {f"a_rather_long_drop_reason_number_{n}": n + 1 for n in range(8)}
    funnel = [{"name": "answer_review_gate", "in": 123456, "kept": 100000, "dropped": reasons, "errors": 12,
               "error_reasons": {"llm_invalid_output": 12}, "out": 100000, "llm_requests": 1234567,
               "cache_hits": 89, "prompt_tokens": 123456789, "completion_tokens": 98765432, "items_per_s": 12.5}]
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    print_funnel(console, funnel, {"prompt": {"kept": 3}}, [])
    shown = console.export_text()
    assert "…" not in shown and max(len(line) for line in shown.splitlines()) <= 80
    for reason in [*reasons, "llm_invalid_output", "answer_review_gate", "123,456,789"]:
        assert reason in shown


def test_a_missing_source_folder_on_run_is_exit_2_naming_the_key(tmp_path):
    project = example_project(tmp_path / "p")
    recipe = project / "recipe.yaml"
    recipe.write_text(recipe.read_text().replace("folders: [docs]", "folders: [nodocs]"))
    result = runner.invoke(app, ["run", str(project)])
    assert result.exit_code == 2 and no_traceback(result), result.output
    assert "sources.folders: 'nodocs' is not a folder" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_yaml_error_keeps_its_caret_and_expected_lines(tmp_path):
    project = example_project(tmp_path / "p")
    recipe = project / "recipe.yaml"
    recipe.write_text(recipe.read_text().replace("folders: [docs]", "folders: [docs"))
    result = runner.invoke(app, ["validate", str(project), "--skip-llm"])
    assert result.exit_code == 2, result.output
    assert "folders: [docs\n" in result.output and "expected ',' or ']'" in result.output
    caret_line = next(line for line in result.output.splitlines() if line.strip() == "^")
    source_line = result.output.splitlines()[result.output.splitlines().index(caret_line) - 1]
    assert source_line[caret_line.index("^")] == "["  # the caret still points at the bracket


def test_an_export_that_cannot_be_written_is_one_line(tmp_path):
    project = example_project(tmp_path / "p")
    assert runner.invoke(app, ["run", str(project), "--until", "chunk"]).exit_code == 0
    (tmp_path / "taken").mkdir()
    result = runner.invoke(app, ["export", str(project), "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2 and no_traceback(result), result.output
    assert result.output.startswith(f"error: cannot write {tmp_path / 'taken'}")


def test_recipe_errors_from_the_cli_name_the_key_and_line(tmp_path):
    project = example_project(tmp_path / "p")
    data = yaml.safe_load((project / "recipe.yaml").read_text())
    data["domain"]["subdomains"][0]["name"] = ""
    (project / "recipe.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = runner.invoke(app, ["run", str(project)])
    assert result.exit_code == 2 and no_traceback(result), result.output
    assert "'domain.subdomains.0.name': must not be empty" in result.output


def test_the_samples_show_one_answer_with_its_prompt_as_they_are(tmp_path):
    from sftgen.pipeline import standard_pipeline
    from sftgen.project import Project
    from sftgen.records import Record
    from sftgen.samples_view import print_samples
    from sftgen.store import ItemResult
    from tests.support.answer_project import make_answer_project, seed_prompts

    root = make_answer_project(tmp_path / "p")
    prompt = seed_prompts(root, [(f"Why is {MARKUP} confinement so strong?", "quarks")])[0]
    project = Project.open(root)
    answer_step = standard_pipeline(project.recipe).final("answer").name
    answer = Record(kind="answer", text=f"Because gluons carry colour {MARKUP}.\nSecond line.",
                    meta={"prompt_id": prompt.id}, parent_ids=[prompt.id])
    store = project.store()
    store.commit_batch(answer_step, "seeded", [ItemResult(prompt.id, "kept", outputs=[answer])])
    store.close()
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    print_samples(console, project, root)
    shown = console.export_text()
    assert f"  - Why is {MARKUP} confinement so strong?" in shown
    assert f"an answer to: Why is {MARKUP} confinement so strong?" in shown
    assert f"    Because gluons carry colour {MARKUP}.\n    Second line." in shown
