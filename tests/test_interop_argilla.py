"""Against the real Argilla SDK (2.8, offline: its server needs Elasticsearch): our settings file loads
with `rg.Settings.from_json`, every record with `rg.Record.from_dict` and declares all its metadata;
responses made with the SDK (submitted, draft, discarded) and serialised by the SDK's own exports come back
through `sftgen review --import`, drafts and discards left out, a changed response imported again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.project import Project
from sftgen.decisions.log import ReviewLog
from tests.support.review_project import make_review_project, seed_answer, seed_prompts
from tests.support.tool_venvs import tool_python

pytestmark = [pytest.mark.interop, pytest.mark.timeout(1800)]

SCRIPT = Path(__file__).parent / "interop" / "argilla_sdk.py"
ANA, BOB, CY = "0b0f1e5a-3c1d-4c8e-9d2a-1a2b3c4d5e6f", "7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f", \
    "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
EDITED = "Which quark flavours exist, and what are their electric charges?"


def sftgen(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def through_the_sdk(tmp_path, exported, plan) -> dict:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    done = subprocess.run(
        [str(tool_python("argilla")), str(SCRIPT), f"{exported}.settings.json", str(exported), str(plan_file),
         str(tmp_path / "sdk")], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def stored(project_dir):
    store = Project.open(project_dir).store()
    try:
        return sorted((d.item_id, d.reviewer, d.decision, d.reason, d.edited_text, d.scores)
                      for d in ReviewLog(store).decisions())
    finally:
        store.close()


def test_argilla_sdk_round_trip(tmp_path):
    root = make_review_project(tmp_path / "p", review={"reviews_required": 1})
    prompts = seed_prompts(root)
    answer = seed_answer(root, prompts[0], "Six flavours [1]; charges +2/3 and -1/3 [2].",
                         {"style": 4, "domain": 5, "groundedness": 3})
    exported = tmp_path / "records.json"
    assert sftgen("review", root, "--export", "argilla", exported).exit_code == 0
    p0, p1, p2 = (p.id for p in prompts)
    plan = {
        p0: [["decision", "accept", ANA, "submitted"], ["decision", "reject", BOB, "draft"]],
        p1: [["decision", "reject", ANA, "submitted"], ["reject_reason", "unclear", ANA, "submitted"],
             ["reason_text", "asks two things at once", ANA, "submitted"], ["decision", "accept", CY, "discarded"]],
        p2: [["decision", "edit", BOB, "submitted"], ["edited_text", EDITED, BOB, "submitted"]],
        answer.id: [["decision", "accept", ANA, "submitted"], ["score_style", 4, ANA, "submitted"],
                    ["score_domain", 2, ANA, "submitted"], ["score_groundedness", 5, ANA, "submitted"],
                    ["edited_text", answer.text, ANA, "submitted"],  # the suggested text, left as it was
                    ["decision", "reject", CY, "draft"]],
    }
    loaded = through_the_sdk(tmp_path, exported, plan)
    assert loaded["records"] == 4 and loaded["fields"] == ["text", "prompt", "passages", "judge"]
    assert loaded["questions"] == {"decision": "LabelQuestion", "reject_reason": "LabelQuestion",
                                   "reason_text": "TextQuestion", "edited_text": "TextQuestion",
                                   "score_style": "RatingQuestion", "score_domain": "RatingQuestion",
                                   "score_groundedness": "RatingQuestion"}
    assert loaded["metadata"] == ["kind", "review_status", "subdomain", "version_id"]
    assert loaded["undeclared_metadata"] == [] and loaded["allow_extra_metadata"] is False
    assert loaded["suggestions"] == ["edited_text"] and loaded["min_submitted"] == 1

    sdk = tmp_path / "sdk"
    nested = sftgen("review", root, "--import", sdk / "nested.json")  # to_json drops each response's status
    assert nested.exit_code == 2 and "without its status" in " ".join(nested.output.split()), nested.output
    assert stored(root) == []

    result = sftgen("review", root, "--import", sdk / "flat.json")
    assert result.exit_code == 0 and "4 decisions recorded" in result.output, result.output
    want = sorted([
        (p0, f"argilla:{ANA}", "accept", None, None, {}),
        (p1, f"argilla:{ANA}", "reject", "unclear: asks two things at once", None, {}),
        (p2, f"argilla:{BOB}", "edit", None, EDITED, {}),
        (answer.id, f"argilla:{ANA}", "accept", None, None, {"style": 4, "domain": 2, "groundedness": 5}),
    ])
    assert stored(root) == want
    again = sftgen("review", root, "--import", sdk / "flat.jsonl")  # to_datasets(), the same responses
    assert "0 decisions recorded, 4 imported before" in again.output, again.output

    plan[p0] = [["decision", "reject", ANA, "submitted"], ["reject_reason", "duplicate", ANA, "submitted"]]
    through_the_sdk(tmp_path, exported, plan)  # ana changed her response
    changed = sftgen("review", root, "--import", sdk / "flat.jsonl")
    assert "1 decisions recorded, 3 imported before" in changed.output, changed.output
    assert (p0, f"argilla:{ANA}", "reject", "duplicate", None, {}) in stored(root)
