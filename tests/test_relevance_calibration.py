"""The embedding relevance gate's calibration: a cut and an uncertain band fitted on a labelled sample,
figures cross-validated so they hold for texts the fit never saw, a sample file read with every bad line
named, and the score itself from the real static embedder."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.recipe import Recipe
from sftgen.relevance.band import Band, fit_band, fit_threshold
from sftgen.relevance.calibration import calibrate, gate_with_llm
from sftgen.relevance.sample import SampleError, read_sample


def test_separable_scores_need_no_llm():
    scores = [0.1, 0.15, 0.2, 0.25, 0.6, 0.65, 0.7, 0.75] * 3
    relevant = [s > 0.4 for s in scores]
    result = calibrate(scores, relevant)
    assert 0.25 < result.threshold < 0.6
    assert result.band.empty and result.in_band == []
    assert result.score_alone.f1 == 1.0 and result.gate_outside_band.f1 == 1.0


def test_overlapping_scores_leave_the_overlap_to_the_llm():
    low = [0.10, 0.12, 0.15, 0.18, 0.20, 0.22]
    mixed = [0.40, 0.42, 0.44, 0.46, 0.48, 0.50]
    high = [0.70, 0.72, 0.75, 0.78, 0.80, 0.82]
    scores = low + mixed + high
    relevant = [False] * 6 + [True, False, True, False, True, False] + [True] * 6
    band = fit_band(scores, relevant, purity=1.0, threshold=fit_threshold(scores, relevant))
    assert band.low <= 0.40 and 0.50 < band.high <= 0.70
    assert all(band.decide(s) is None for s in mixed)
    assert all(band.decide(s) is False for s in low) and all(band.decide(s) is True for s in high)


def test_a_perfect_llm_inside_the_band_makes_the_gate_perfect_on_what_it_leaves_to_it():
    scores = [i / 40 for i in range(40)]
    relevant = [(i % 3 != 0) if 12 <= i < 28 else i >= 20 for i in range(40)]
    result = calibrate(scores, relevant, purity=1.0)
    with_llm = gate_with_llm(result, relevant, llm_keeps=lambda i: relevant[i])
    assert result.in_band  # some texts need the LLM
    assert with_llm.f1 >= result.score_alone.f1
    assert with_llm.fp + with_llm.fn == result.gate_outside_band.fp + result.gate_outside_band.fn


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-1, 1, allow_nan=False), st.booleans()), min_size=2, max_size=80))
def test_every_text_is_either_left_to_the_llm_or_decided_by_the_score(pairs):
    scores, relevant = [s for s, _ in pairs], [r for _, r in pairs]
    result = calibrate(scores, relevant)
    decided = result.gate_outside_band
    assert decided.tp + decided.fp + decided.fn + decided.tn + len(result.in_band) == len(pairs)
    assert set(result.kept_by_score).isdisjoint(result.in_band)
    alone = result.score_alone
    assert alone.tp + alone.fp + alone.fn + alone.tn == len(pairs)
    assert isinstance(result.band, Band)


def test_a_sample_file_names_each_bad_line_and_keeps_the_good_ones(tmp_path):
    path = tmp_path / "sample.jsonl"
    lines = [json.dumps({"text": "Quarks carry colour charge.", "relevant": True}),
             "not json",
             json.dumps({"text": "Ouvert le dimanche, fermé le lundi — 营业时间", "relevant": "no"}),
             json.dumps({"text": "", "relevant": True}),
             json.dumps({"text": "Gluons bind quarks.", "relevant": "maybe"}),
             "", json.dumps({"text": "Hadrons are made of quarks.", "relevant": 1})]
    path.write_text("\n".join(lines), encoding="utf-8")
    sample = read_sample(path)
    assert [(t.line, t.relevant) for t in sample.texts] == [(1, True), (3, False), (7, True)]
    assert [p.split(": ", 1)[0] for p in sample.problems] == [f"{path}:2", f"{path}:4", f"{path}:5"]
    assert "'relevant' is 'maybe'" in sample.problems[2]


def test_a_sample_without_both_labels_or_without_a_file_is_refused(tmp_path):
    one_sided = tmp_path / "one.jsonl"
    one_sided.write_text(json.dumps({"text": "Quarks.", "relevant": True}) + "\n")
    with pytest.raises(SampleError, match="every text is labelled relevant"):
        read_sample(one_sided)
    with pytest.raises(SampleError, match="no such file"):
        read_sample(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SampleError, match="UTF-8"):
        read_sample(tmp_path / "bad.jsonl")


def test_the_real_embedder_scores_domain_text_above_a_distractor():
    from sftgen.embed import load_embedder
    from sftgen.relevance.score import DescriptionScorer

    recipe = Recipe.model_validate({"domain": {"name": "particle physics", "description": "quarks, gluons, hadrons",
                                               "subdomains": [{"name": "quarks", "share": 1.0,
                                                               "description": "quark flavours and charges"}]}})
    scorer = DescriptionScorer(recipe, load_embedder())
    physics, bakery = scorer.scores(["Quarks come in six flavours and carry fractional electric charge.",
                                     "Our bakery sells sourdough bread and croissants every morning."])
    assert physics > bakery
    assert scorer.scores([]) == []


PHYSICS = ["Quarks come in six flavours: up, down, strange, charm, bottom and top.",
           "Gluons carry colour charge and bind quarks together inside protons and neutrons.",
           "A baryon is a hadron made of three valence quarks, such as the proton.",
           "Mesons are made of a quark and an antiquark and decay quickly.",
           "The strong force between quarks grows as they are pulled apart: confinement.",
           "Top quarks decay before they can form hadrons, in about 5e-25 seconds."]
DISTRACTORS = ["Preheat the oven and knead the dough until it is smooth and elastic.",
               "The match ended two all after a late penalty in the second half.",
               "Shares in the retailer fell after it cut its profit forecast for the year.",
               "The band's new album tops the charts for a third week running.",
               "Parliament passed the budget after a long debate on taxes.",
               "Water the tomato plants every morning during the dry summer weeks."]


def write_sample(path, relevant, other):
    lines = [json.dumps({"text": t, "relevant": True}) for t in relevant]
    lines += [json.dumps({"text": t, "relevant": False}) for t in other]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_calibrating_a_project_prints_its_figures_and_recipe_lines_that_the_recipe_accepts(tmp_path):
    import asyncio

    import yaml

    from sftgen.calibrate import calibrate_project, report_lines
    from sftgen.embed import load_embedder
    from sftgen.project import Project
    from sftgen.relevance.gate import scorer_for
    from tests.support.projects import example_project

    project_dir = example_project(tmp_path / "p")
    write_sample(project_dir / "labelled.jsonl", PHYSICS, DISTRACTORS)
    project, embedder = Project.open(project_dir), load_embedder()
    asked: list[str] = []

    async def llm_judge(texts):  # a stand-in judge: calibrate only counts and combines its verdicts
        asked.extend(texts)
        return [text in PHYSICS for text in texts]

    report = asyncio.run(calibrate_project(project, project_dir / "labelled.jsonl", embedder, llm_judge=llm_judge))
    assert report.score_kind == "examples" and report.examples_name == "labelled.jsonl"
    assert report.llm_requests == len(asked) == len(report.calibration.in_band)
    text = "\n".join(report_lines(report))
    assert "12 labelled texts (6 relevant)" in text and "score alone, cut" in text and "put in recipe.yaml:" in text

    section = yaml.safe_load("\n".join(report.recipe_lines()))
    recipe = Recipe.model_validate({**project.recipe.model_dump(), **section})
    scorer = scorer_for(recipe, project_dir, embedder)
    decided = [recipe.relevance.decide(s) for s in scorer.scores(PHYSICS + DISTRACTORS)]
    assert decided[:6].count(False) == 0 and decided[6:].count(True) == 0


def test_an_example_sample_outside_the_project_is_refused(tmp_path):
    from sftgen.relevance.gate import RelevanceSetupError, examples_path

    recipe = Recipe.model_validate({"domain": {"name": "d", "subdomains": [{"name": "s", "share": 1.0}]},
                                    "relevance": {"examples": "../elsewhere.jsonl"}})
    (tmp_path / "p").mkdir()
    with pytest.raises(RelevanceSetupError, match="outside the project folder"):
        examples_path(recipe, tmp_path / "p")
