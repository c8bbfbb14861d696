"""`sftgen export --what preferences`: reviewers' edits and rejections become `{prompt, chosen, rejected}` pairs
in TRL's conversational form, with their source and provenance; the three formats hold the same rows and the
dataset card counts the pairs by source. The row builder is checked on any text (hypothesis)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sftgen.cli import app
from sftgen.export.conform import conform_row
from sftgen.export.preferences import (KeptAnswer, Preference, PreferenceSource, RejectedAnswer, expert_preferences,
                                       preference_row, preference_rows)
from sftgen.export.schema import PREFERENCE_SOURCES, preference_schema
from sftgen.export.writers import jsonl_line
from sftgen.records import Record
from tests.support.preference_project import (EDITED_INTERACTION, FIRST, FIRST_SCORE, PROMPTS, REJECT_QUARKS,
                                              SECOND, SECOND_SCORE, SYSTEM_PROMPT, make_reviewed_project)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    return make_reviewed_project(tmp_path_factory.mktemp("preferences") / "p")


def export(project, out, *args):
    result = CliRunner().invoke(app, ["export", str(project), "--what", "preferences", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return result.output


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def expected_rows(ids):
    prompt = {key: [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}]
              for key, (text, _) in PROMPTS.items()}
    return [
        {"prompt": prompt["quarks"],
         "chosen": [{"role": "assistant", "content": SECOND["quarks"]}],
         "rejected": [{"role": "assistant", "content": FIRST["quarks"]}],
         "source": "expert_reject", "prompt_id": ids["prompt"]["quarks"], "chosen_id": ids["second"]["quarks"],
         "rejected_id": ids["first"]["quarks"], "reviewer": "bob", "reason": REJECT_QUARKS,
         "chosen_score": float(SECOND_SCORE), "rejected_score": float(FIRST_SCORE), "subdomain": "quarks"},
        {"prompt": prompt["interaction"],
         "chosen": [{"role": "assistant", "content": EDITED_INTERACTION}],
         "rejected": [{"role": "assistant", "content": SECOND["interaction"]}],
         "source": "expert_edit", "prompt_id": ids["prompt"]["interaction"],
         "chosen_id": ids["edited"]["interaction"], "rejected_id": ids["second"]["interaction"], "reviewer": "ana",
         "reason": None, "chosen_score": None, "rejected_score": float(SECOND_SCORE), "subdomain": "gluons"},
    ]


def without_ids(rows):
    return sorted(({key: value for key, value in row.items() if key != "id"} for row in rows),
                  key=lambda row: row["source"])


def test_edits_and_rejections_make_exactly_the_expected_pairs(reviewed, tmp_path):
    assert reviewed.requests_in_last_run == 0  # the decisions flowed back without asking the LLM
    output = export(reviewed.root, tmp_path / "prefs.jsonl")
    assert "wrote 2 preferences" in " ".join(output.split())
    rows = read_jsonl(tmp_path / "prefs.jsonl")
    # Not paired: the gluon-mass answer (rejected, nothing accepted beside it) and the hadron answer's "edit"
    # into its own text; the first quark answer's rejection pairs with the accepted second one.
    assert without_ids(rows) == without_ids(expected_rows(reviewed.ids))
    assert len({row["id"] for row in rows}) == 2 and all(row["id"].startswith("pair_") for row in rows)
    again = tmp_path / "again.jsonl"
    export(reviewed.root, again)
    assert read_jsonl(again) == rows  # ids and order are stable


def test_the_three_formats_hold_the_same_rows_and_the_card_counts_them_by_source(reviewed, tmp_path):
    export(reviewed.root, tmp_path / "prefs.jsonl", "--card")
    export(reviewed.root, tmp_path / "prefs.parquet", "--format", "parquet")
    export(reviewed.root, tmp_path / "prefs_hf", "--format", "hf")
    rows = read_jsonl(tmp_path / "prefs.jsonl")
    parquet = pq.read_table(tmp_path / "prefs.parquet")
    assert parquet.schema.equals(preference_schema()) and parquet.to_pylist() == rows
    import datasets

    saved = datasets.load_from_disk(str(tmp_path / "prefs_hf"))
    assert saved.to_list() == rows
    for card in (tmp_path / "prefs.jsonl.README.md", tmp_path / "prefs_hf" / "README.md"):
        text = card.read_text(encoding="utf-8")
        assert "by source: expert_edit 1, expert_pick 0, expert_reject 1, judge 0." in text
        assert "- dpo" in text


def test_a_project_without_decisions_exports_no_pair(tmp_path):
    from tests.support.answer_project import make_answer_project

    root = make_answer_project(tmp_path / "p")
    output = export(root, tmp_path / "prefs.jsonl")
    assert "wrote 0 preferences" in " ".join(output.split())
    assert (tmp_path / "prefs.jsonl").read_text() == ""


def test_the_source_enum_is_the_schemas_list():
    assert [source.value for source in PreferenceSource] == list(PREFERENCE_SOURCES)


# ---- the row builder, on any text ------------------------------------------------------------------------

texts = st.one_of(st.text(max_size=200), st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50),
                  st.just(""), st.just("\u2028\u0085\r\n"), st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=8),
                                                                   st.integers(10_000, 60_000)))


def answer(text, prompt, origin="", **meta):
    return Record(kind="answer", text=text, parent_ids=[prompt.id], origin=origin, meta={"prompt_id": prompt.id, **meta})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_text=texts, chosen_text=texts, rejected_text=texts, system=st.one_of(st.none(), texts),
       source=st.sampled_from(list(PreferenceSource)), score=st.one_of(st.none(), st.floats(1, 5)))
def test_a_row_carries_both_answers_as_they_are_or_none_when_they_say_the_same(
        prompt_text, chosen_text, rejected_text, system, source, score):
    prompt = Record(kind="prompt", text=prompt_text, meta={"subdomain": "s"})
    chosen = answer(chosen_text, prompt, edited_by="ana")
    rejected = answer(rejected_text, prompt, score_mean=score)
    row = preference_row(Preference(source, prompt, chosen, rejected, reviewer="ana"), system)
    if chosen_text.strip() == rejected_text.strip():
        assert row is None
        return
    assert row["prompt"][-1] == {"role": "user", "content": prompt_text}
    assert row["prompt"][:-1] == ([{"role": "system", "content": system}] if system else [])
    assert row["chosen"] == [{"role": "assistant", "content": chosen_text}]
    assert row["rejected"] == [{"role": "assistant", "content": rejected_text}]
    assert (row["source"], row["chosen_id"], row["rejected_id"]) == (source.value, chosen.id, rejected.id)
    assert row["rejected_score"] == score and row["chosen_score"] is None
    assert conform_row(row, preference_schema(), "row") == row  # fits the schema as it is
    assert json.loads(jsonl_line(row)) == row and jsonl_line(row).count("\n") == 1


@settings(max_examples=60, deadline=None)
@given(original=texts, edits=st.lists(texts, min_size=1, max_size=4), rejected=st.lists(texts, max_size=3))
def test_experts_pair_each_edit_with_its_original_and_each_accepted_answer_with_each_rejection(original, edits,
                                                                                              rejected):
    prompt = Record(kind="prompt", text="Why?")
    base = answer(original, prompt, score_mean=3.0)
    kept = [KeptAnswer(Record(kind="answer", text=text, parent_ids=[base.id], origin=str(n),
                              meta={"prompt_id": prompt.id, "original_id": base.id, "edited_by": f"r{n}"}),
                       accepted=True, original=base) for n, text in enumerate(edits)]
    losers = [RejectedAnswer(answer(text, prompt, origin=f"old{n}"), "bob", "wrong") for n, text in enumerate(rejected)]
    rows = list(preference_rows(expert_preferences(prompt, kept, losers)))
    made = [(row["source"], row["chosen"][0]["content"], row["rejected"][0]["content"]) for row in rows]
    wanted = [("expert_edit", text, original) for text in edits if text.strip() != original.strip()]
    wanted += [("expert_reject", text, loser) for text in edits for loser in rejected if text.strip() != loser.strip()]
    assert made == wanted
    assert len({(row["chosen_id"], row["rejected_id"]) for row in rows}) == len(rows)
    editors = {record.answer.id: record.answer.meta["edited_by"] for record in kept}
    assert [row["reviewer"] for row in rows] == [
        "bob" if row["source"] == "expert_reject" else editors[row["chosen_id"]] for row in rows]
    assert {row["reason"] for row in rows if row["source"] == "expert_reject"} <= {"wrong"}


def test_an_unaccepted_answer_is_no_winner_over_a_rejected_one():
    prompt = Record(kind="prompt", text="Why?")
    kept = [KeptAnswer(answer("Because [1].", prompt), accepted=False)]
    assert expert_preferences(prompt, kept, [RejectedAnswer(answer("No.", prompt), "bob", "wrong")]) == []


def test_a_source_outside_the_enum_is_refused():
    prompt = Record(kind="prompt", text="Why?")
    with pytest.raises(ValueError, match="expert_edit, expert_pick, expert_reject, judge"):
        preference_row(Preference("vibes", prompt, answer("a", prompt), answer("b", prompt)))
