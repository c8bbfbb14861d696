"""`sftgen status` shows what the store holds: computed once, then read from its snapshot until anything
in the store or the recipe changes, whoever changed it."""

from __future__ import annotations

import json
import sqlite3

import pytest
import yaml

from sftgen import status_data
from sftgen.project import Project
from sftgen.records import Status
from tests.support.answer_project import make_answer_project, seed_prompts


@pytest.fixture
def project(tmp_path):
    root = make_answer_project(tmp_path / "p")
    seed_prompts(root)
    return root


@pytest.fixture
def computations(monkeypatch):
    """How many times the status was computed from the store (rather than read from its snapshot)."""
    calls = []
    real = status_data.collect_status

    def counted(project, store):
        calls.append(project.dir)
        return real(project, store)

    monkeypatch.setattr(status_data, "collect_status", counted)
    return calls


def kept_prompts(status):
    return {step["name"]: step["out"] for step in status["steps"]}


def test_a_second_status_reads_the_snapshot_and_shows_the_same(project, computations):
    first = status_data.project_status(Project.open(project))
    second = status_data.project_status(Project.open(project))

    assert second == first
    assert len(computations) == 1
    assert (project / ".sftgen" / "status.json").is_file()


def test_a_change_through_the_store_is_shown_at_once(project, computations):
    first = status_data.project_status(Project.open(project))
    store = Project.open(project).store()
    prompt = next(iter(store.records.of_kind("prompt")))
    with store.db.transaction():
        store.records.mark(prompt.id, Status.DROPPED, "too_vague", "prompt_filter")
    store.close()

    second = status_data.project_status(Project.open(project))

    assert len(computations) == 2
    assert first["records"]["prompt"] == {"kept": 2}
    assert second["records"]["prompt"] == {"kept": 1, "dropped": 1}


def test_a_change_by_another_program_is_shown_too(project, computations):
    status_data.project_status(Project.open(project))
    conn = sqlite3.connect(project / ".sftgen" / "store.db")
    with conn:
        conn.execute("UPDATE records SET status = 'dropped' WHERE kind = 'prompt'")
    conn.close()

    status = status_data.project_status(Project.open(project))

    assert len(computations) == 2
    assert status["records"]["prompt"] == {"dropped": 2}


def test_a_recipe_change_computes_the_status_again(project, computations):
    first = status_data.project_status(Project.open(project))
    recipe = yaml.safe_load((project / "recipe.yaml").read_text())
    recipe["domain"]["subdomains"][0]["share"], recipe["domain"]["subdomains"][1]["share"] = 0.7, 0.3
    (project / "recipe.yaml").write_text(yaml.safe_dump(recipe))

    second = status_data.project_status(Project.open(project))

    assert len(computations) == 2
    assert [row["share"] for row in second["quotas"]] != [row["share"] for row in first["quotas"]]


@pytest.mark.parametrize("content", ["", "{not json", json.dumps({"format": 999, "status": {}}), "[]"])
def test_a_damaged_snapshot_is_computed_anew(project, computations, content):
    first = status_data.project_status(Project.open(project))
    (project / ".sftgen" / "status.json").write_text(content)

    second = status_data.project_status(Project.open(project))

    assert second == first
    assert len(computations) == 2


def test_the_snapshot_is_not_kept_when_the_store_changed_while_it_was_read(project, monkeypatch):
    real = status_data.collect_status

    def written_meanwhile(project_, store):
        status = real(project_, store)
        other = sqlite3.connect(project / ".sftgen" / "store.db")
        with other:
            other.execute("UPDATE records SET reason = 'changed meanwhile' WHERE kind = 'prompt'")
        other.close()
        return status

    monkeypatch.setattr(status_data, "collect_status", written_meanwhile)
    status_data.project_status(Project.open(project))

    assert not (project / ".sftgen" / "status.json").exists()
