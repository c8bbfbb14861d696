"""The linear probe behind `relevance.fit: probe`: a logistic regression on a labelled sample's embeddings,
fitted without a solver library, scoring in [-1, 1] like the cosine scores; in a run it replaces the
centroids, and `sftgen calibrate --score probe` prints the recipe lines that select it. The full MiniLM
(`relevance.embedder: minilm`) is the real transformer from the installed package."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.recipe import Recipe
from sftgen.relevance.band import Scores
from sftgen.relevance.probe import cross_fitted_probe_scores, fit_logistic, probe_scores
from tests.fakes.fake_openai_server import running_fake_server
from tests.test_cli_output import app, fake_llm_env, no_traceback, runner
from tests.test_prompt_pipeline import make_project, recipe
from tests.test_relevance_calibration import DISTRACTORS, PHYSICS, write_sample
from tests.test_relevance_gate import DOCS, TopicalModel, chunk_rows, run_chunk_filter


def two_clouds(rng, n, dim, shift):
    centre = rng.normal(size=dim)
    centre /= np.linalg.norm(centre)
    x = rng.normal(scale=0.5, size=(2 * n, dim))
    x[:n] += shift * centre
    return x, np.array([True] * n + [False] * n)


def test_the_probe_separates_two_clouds_that_overlap_in_most_directions():
    x, y = two_clouds(np.random.default_rng(1), 60, 64, shift=2.0)
    weights, intercept = fit_logistic(x, y)
    scores = probe_scores(weights, intercept, x)
    assert Scores.of(scores >= 0, y).f1 > 0.95
    held_out = cross_fitted_probe_scores(x, y)
    assert Scores.of(held_out >= 0, y).f1 > 0.9


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.integers(1, 30), st.floats(0.0, 3.0), st.integers(0, 10_000))
def test_probe_scores_stay_in_minus_one_to_one_and_are_finite(n, dim, shift, seed):
    x, y = two_clouds(np.random.default_rng(seed), n, dim, shift)
    x *= 1e3 if seed % 3 == 0 else 1  # large inputs must not overflow
    weights, intercept = fit_logistic(x, y)
    scores = probe_scores(weights, intercept, x)
    assert np.isfinite(scores).all() and (np.abs(scores) <= 1).all()
    assert np.isfinite(cross_fitted_probe_scores(x, y)).all()


def test_a_probe_without_a_sample_is_refused_naming_the_key():
    with pytest.raises(ValueError, match="relevance.examples"):
        Recipe.model_validate({"domain": {"name": "d", "subdomains": [{"name": "a", "share": 1}]},
                               "relevance": {"fit": "probe"}})


@pytest.mark.parametrize("embedder", ["static", "minilm"])
def test_in_a_run_the_probe_scores_every_chunk_and_keeps_physics_above_the_rest(tmp_path, embedder):
    settings_ = {**recipe(target_total=None), "profiles": {"min_chunk_chars": 50},
                 "relevance": {"examples": "labelled.jsonl", "fit": "probe", "embedder": embedder}}
    project = make_project(tmp_path / "p", DOCS, settings_)
    write_sample(project / "labelled.jsonl", PHYSICS, DISTRACTORS)
    run_chunk_filter(project, TopicalModel())
    scores = {name: chunk.meta["relevance"] for name, (_, chunk) in chunk_rows(project).items()}
    physics = [s for name, s in scores.items() if name.startswith("physics")]
    other = [s for name, s in scores.items() if name.startswith("other")]
    assert min(physics) > max(other)
    assert all(-1 <= s <= 1 for s in scores.values())


def test_calibrate_with_the_probe_prints_the_lines_that_select_it(tmp_path):
    project = make_project(tmp_path / "p", DOCS, recipe(target_total=None))
    write_sample(project / "labelled.jsonl", PHYSICS, DISTRACTORS)
    with running_fake_server() as server:
        server.script_steps(TopicalModel())
        result = runner.invoke(app, ["calibrate", str(project), str(project / "labelled.jsonl"), "--score", "probe"],
                               env={**fake_llm_env(server), "COLUMNS": "200"})
    assert result.exit_code == 0 and no_traceback(result), result.output
    assert "a linear probe fitted on this sample" in " ".join(result.output.split())
    lines = result.output.split("put in recipe.yaml:")[1]
    section = yaml.safe_load("\n".join(line[2:] for line in lines.splitlines() if line.strip()))["relevance"]
    assert section["fit"] == "probe" and section["examples"] == "labelled.jsonl"
    Recipe.model_validate({"domain": {"name": "d", "subdomains": [{"name": "a", "share": 1}]}, "relevance": section})


def test_the_full_minilm_puts_related_texts_closer_than_unrelated_ones():
    pytest.importorskip("transformers")
    from sftgen.embed.minilm import MiniLMEncoder

    vectors = MiniLMEncoder().encode([PHYSICS[0], PHYSICS[1], DISTRACTORS[0], ""])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert MiniLMEncoder().encode([]).shape == (0, 384)
