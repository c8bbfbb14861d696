"""Report metrics against hand-computed values on small sets."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.report.coverage import meta_spread, subdomain_coverage
from sftgen.report.metrics.lexical import compression_ratio, distinct_n, lexical_metrics, tokens
from sftgen.report.metrics.semantic import copy_check, pairwise_metrics
from sftgen.report.reference import ReferenceError, read_reference
from sftgen.report.scores import score_distributions
from tests.support.embedder import embedder  # noqa: F401  (fixture)
from tests.support.projects import TINY_RECIPE, make_project
from tests.support.report_store import seed_report_store

KNOWN = ["the cat sat", "the cat ran", "a dog sat"]


def test_distinct_n_of_a_known_list():
    token_lists = [tokens(text) for text in KNOWN]
    # unigrams: the cat sat the cat ran a dog sat -> 9 in all, {the, cat, sat, ran, a, dog} = 6 distinct
    assert distinct_n(token_lists, 1) == pytest.approx(6 / 9)
    # bigrams: (the cat)(cat sat)(the cat)(cat ran)(a dog)(dog sat) -> 6 in all, 5 distinct
    assert distinct_n(token_lists, 2) == pytest.approx(5 / 6)
    # trigrams: 3 in all, all distinct
    assert distinct_n(token_lists, 3) == pytest.approx(1.0)
    assert distinct_n([["one", "two"]], 3) == 0.0


def test_compression_ratio_is_raw_bytes_over_zlib_compressed():
    raw = "\n".join(KNOWN).encode("utf-8")
    assert compression_ratio(KNOWN) == pytest.approx(len(raw) / len(zlib.compress(raw, 9)))
    assert compression_ratio([]) == 0.0


def test_identical_prompts_have_minimal_diversity(embedder):  # noqa: F811
    same = ["How do quarks bind into protons?"] * 200
    varied = [f"Question {i}: how does {w} relate to {v}?" for i, (w, v) in
              enumerate(zip(["gluons", "pions", "kaons", "muons"] * 50, ["mass", "spin", "charge", "decay"] * 50))]
    same_lexical, varied_lexical = lexical_metrics(same), lexical_metrics(varied)
    assert same_lexical["distinct_1"] == pytest.approx(6 / (6 * 200))  # 6 words, repeated 200 times
    assert same_lexical["top_opener_share"] == 1.0 and same_lexical["distinct_openers"] == 1
    assert same_lexical["compression_ratio"] > varied_lexical["compression_ratio"]
    same_semantic = pairwise_metrics(embedder.encode(same))
    assert same_semantic["mean_pairwise_distance"] == pytest.approx(0.0, abs=1e-4)
    assert same_semantic["mean_nn_distance"] == pytest.approx(0.0, abs=1e-4)
    assert pairwise_metrics(embedder.encode(varied))["mean_pairwise_distance"] > 0.05


def test_pairwise_and_nearest_distances_of_known_vectors():
    vectors = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    # pairs: (0,1) 1.0, (0,2) 0.0, (1,2) 1.0 -> mean 2/3; nearest: 0, 1, 0 -> mean 1/3
    result = pairwise_metrics(vectors)
    assert result["mean_pairwise_distance"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["mean_nn_distance"] == pytest.approx(1 / 3, abs=1e-4)


def test_copy_check_counts_prompts_close_to_the_reference():
    generated = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    reference = np.array([[1, 0]], dtype=np.float32)
    # distances to the reference: 0, 0.4, 1
    result = copy_check(generated, reference, threshold=0.1)
    assert result["count_below"] == 1 and result["share_below"] == pytest.approx(1 / 3, abs=1e-4)
    assert copy_check(generated, reference, threshold=0.5)["count_below"] == 2


def test_coverage_of_a_hand_made_store(tmp_path):
    recipe = {**TINY_RECIPE, "domain": {"name": "physics", "subdomains": [
        {"name": "quarks", "share": 0.75}, {"name": "gluons", "share": 0.25}]}, "prompts": {"target_total": 8}}
    project_dir = make_project(tmp_path / "p", recipe=recipe)
    seed_report_store(project_dir, [
        ("What is a quark?", {"subdomain": "quarks", "topic": "basics", "task_type": "explain"}),
        ("How heavy is the top quark?", {"subdomain": "quarks", "topic": "mass", "task_type": "explain"}),
        ("Which quarks make a proton?", {"subdomain": "quarks", "topic": "basics", "task_type": "compare"}),
        ("What does a gluon carry?", {"subdomain": "gluons", "topic": "Basics", "task_type": "explain"}),
    ])
    project = Project.open(project_dir)
    steps = standard_pipeline(project.recipe)
    store = project.store()
    try:
        from sftgen.export.kept import kept_records

        prompts = list(kept_records(store, steps, "prompt"))
        coverage = subdomain_coverage(store, project.recipe, steps, prompts)
    finally:
        store.close()
    rows = {row["subdomain"]: row for row in coverage["subdomains"]}
    # targets 8 * 0.75 = 6 and 2; actual 3 and 1 -> shares 0.75 and 0.25, deficits 3 and 1
    assert rows["quarks"] == {"subdomain": "quarks", "target_share": 0.75, "actual_share": 0.75, "actual": 3,
                              "target": 6, "deficit": 3}
    assert rows["gluons"]["actual_share"] == 0.25 and rows["gluons"]["deficit"] == 1
    assert coverage["under_quota"] == ["quarks", "gluons"]
    spread = meta_spread(prompts)
    assert spread["topic"]["values"][0] == {"value": "basics", "count": 3, "share": 0.75}  # case folded
    assert spread["task_type"]["distinct"] == 2


def test_score_distributions_count_each_score():
    from sftgen.records import Record

    answers = [Record(kind="answer", text=str(i), meta={"scores": {"style": {"score": s, "why": ""}}})
               for i, s in enumerate([3, 5, 5])]
    assert score_distributions(answers) == {"style": {"n": 3, "mean": pytest.approx(13 / 3, abs=1e-3),
                                                      "counts": {"3": 1, "5": 2}}}


def test_reference_reads_each_field_and_names_a_bad_line(tmp_path):
    path = tmp_path / "ref.jsonl"
    path.write_text('{"prompt": "a"}\n{"text": "b"}\n\n{"instruction": "c"}\n'
                    '{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "d"}]}\n')
    assert read_reference(path) == ["a", "b", "c", "d"]
    path.write_text('{"prompt": "a"}\n{"output": "no prompt here"}\n')
    with pytest.raises(ReferenceError, match=r"ref.jsonl:2: no prompt found"):
        read_reference(path)
    path.write_text('{"prompt": "a"}\nnot json\n')
    with pytest.raises(ReferenceError, match=r"ref.jsonl:2: not valid JSON"):
        read_reference(path)


def test_review_section_counts_decisions_and_compares_judge_with_experts(tmp_path):
    from sftgen.report.scores import review_section
    from sftgen.decisions.log import Decision, ReviewLog

    project_dir = make_project(tmp_path / "p")
    prompts = seed_report_store(project_dir,
                                [(f"Why does quark {i} decay?", {"subdomain": "quarks"}) for i in range(3)],
                                [(i, f"Answer {i}.", {"style": 2 + i}, True) for i in range(3)])
    project = Project.open(project_dir)
    steps = standard_pipeline(project.recipe)
    store = project.store()
    try:
        answers = list(store.emitted("answer", kind="answer"))
        log = ReviewLog(store, steps)
        log.record(Decision(prompts[0].id, "prompt", prompts[0].id, "ann", "reject", reason="unclear"))
        log.record(Decision(prompts[1].id, "prompt", prompts[1].id, "ann", "accept"))
        for answer in answers:  # the expert scores style one point above the judge (2, 3, 4 -> 3, 4, 5)
            judged = int(answer.meta["scores"]["style"]["score"])
            log.record(Decision(answer.id, "answer", answer.id, "bob", "accept", scores={"style": judged + 1}))
        section = review_section(store, steps, project.recipe, answers)
    finally:
        store.close()
    assert section["counts"]["prompt"]["accepted"] == 1 and section["counts"]["prompt"]["rejected"] == 1
    # answer 0's prompt was rejected: the next run withdraws it, so the answer queue counts the other two
    assert section["counts"]["answer"]["accepted"] == 2 and section["decisions"] == 5
    assert section["llm_scores"]["style"]["counts"] == {"2": 1, "3": 1, "4": 1}
    style = next(row for row in section["llm_vs_expert"] if row["dimension"] == "style")
    assert style["n"] == 3 and style["mean_diff"] == -1.0 and style["pearson"] == pytest.approx(1.0)
