"""Dedup through the real executor and store, with the real embedder: planted exact,
near and paraphrase duplicates are dropped with `duplicate_of` pointing at the kept prompt; distinct
prompts stay; a resumed run checks new prompts against the ones kept before; decisions do not depend
on the order prompts arrive in."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import yaml

from sftgen.dedup import find_duplicates
from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.recipe.dedup_settings import Dedup
from sftgen.run.runner import run_project
from sftgen.core.step import SourceItem, SourceStep, keep
from sftgen.steps.dedup import DedupStep
from tests.support.embedder import embedder  # noqa: F401  (session fixture)
from tests.support.projects import TINY_RECIPE, make_project

DISTINCT = [
    "What is the electric charge of the strange quark?",
    "Explain how asymptotic freedom lets perturbation theory work at high energies, and why it fails at low "
    "energies where confinement sets in.",
    "Why can free quarks never be observed in a detector?",
    "How does lattice QCD estimate the mass of the proton?",
    "Compare baryons and mesons in terms of their quark content.",
    "What experimental evidence confirmed the existence of gluons in 1979?",
    "Troubleshoot a Monte Carlo event generator that produces too few jets.",
    "Calculate the magnetic moment ratio of the proton and the neutron in the quark model.",
    "What is a pentaquark and which experiment reported one?",
    "How did deep inelastic scattering reveal partons inside the nucleon?",
    "Describe the trade-offs between Wilson and staggered fermions on the lattice.",
    "Which quark is heaviest, and why does it decay before forming hadrons?",
]
EXACT = ("What is the electric charge of the strange quark?", "  what is the ELECTRIC charge of the strange quark  ")
NEAR = (
    "Explain how asymptotic freedom lets perturbation theory work at high energies, and why it fails at low "
    "energies where confinement sets in.",
    "Explain how asymptotic freedom lets perturbation theory work at high energies, and why it breaks down at low "
    "energies where confinement sets in.",
)
PARAPHRASE = (
    "Compare baryons and mesons in terms of their quark content.",
    "In terms of quark content, how do baryons compare with mesons?",
)
PLANTED = {"duplicate_exact": EXACT, "duplicate_near": NEAR, "duplicate_semantic": PARAPHRASE}


class PromptLines(SourceStep):
    """Test source: one prompt record per line of prompts.jsonl ({"text", "origin"})."""

    name = "prompts"
    produces = "prompt"

    def discover(self, ctx):
        for line in (ctx.project_dir / "prompts.jsonl").read_text().splitlines():
            row = json.loads(line)
            yield SourceItem(id=f"line:{row['origin']}", label=row["origin"], fingerprint="1", payload=row)

    async def read(self, source, ctx):
        return keep(Record("prompt", source.payload["text"], origin=source.payload["origin"]))


def make_prompt_project(root: Path, texts: list[str], dedup: dict | None = None) -> Project:
    recipe = copy.deepcopy(TINY_RECIPE)
    if dedup:
        recipe["dedup"] = dedup
    make_project(root, recipe=recipe)
    write_prompts(root, texts)
    return Project.open(root)


def write_prompts(root: Path, texts: list[str], origins: list[str] | None = None) -> None:
    origins = origins or [f"p{i}" for i in range(len(texts))]
    lines = [json.dumps({"text": text, "origin": origin}) for text, origin in zip(texts, origins)]
    (root / "prompts.jsonl").write_text("\n".join(lines) + "\n")


def run(project: Project) -> dict[str, Record]:
    """Run the source and dedup; return every prompt record by its text's origin."""
    asyncio.run(run_project(project, pipeline=[PromptLines(), DedupStep(upstream=["prompts"])]))
    store = project.store()
    try:
        return {record.origin: record for record in store.records_of_kind("prompt")}
    finally:
        store.close()


def kept_texts(records: dict[str, Record]) -> set[str]:
    return {r.text for r in records.values() if r.status == Status.KEPT}


def test_planted_duplicates_are_dropped_pointing_at_the_kept_one(tmp_path, embedder):
    texts = DISTINCT + [EXACT[1], NEAR[1], PARAPHRASE[1]]
    records = run(make_prompt_project(tmp_path / "p", texts))
    by_text = {r.text: r for r in records.values()}
    for reason, (first, second) in PLANTED.items():
        pair = [by_text[first], by_text[second]]
        kept = [r for r in pair if r.status == Status.KEPT]
        dropped = [r for r in pair if r.status == Status.DROPPED]
        assert len(kept) == 1 and len(dropped) == 1, (reason, [(r.text, r.status) for r in pair])
        assert dropped[0].reason == reason
        assert dropped[0].meta["duplicate_of"] == kept[0].id
        assert 0 < dropped[0].meta["similarity"] <= 1
        assert "duplicate_of" not in kept[0].meta
    assert len(kept_texts(records)) == len(DISTINCT)  # every distinct prompt stays


def test_drop_reasons_reach_the_progress_rows(tmp_path, embedder):
    project = make_prompt_project(tmp_path / "p", DISTINCT[:4] + [EXACT[1]])
    run(project)
    store = project.store()
    try:
        rows = {row["outcome"]: row for row in store.progress.rows("dedup")}
        assert rows["dropped"]["reason"] == "duplicate_exact"
        assert "duplicate of pro_" in rows["dropped"]["detail"]
        emitted = [r.text for r in store.emitted("dedup")]
        assert sorted(emitted) == sorted(DISTINCT[:4])  # exports read prompts from dedup's emits
    finally:
        store.close()


def test_resume_checks_new_prompts_against_those_kept_before(tmp_path, embedder):
    root = tmp_path / "p"
    project = make_prompt_project(root, DISTINCT[:6])
    first = run(project)
    assert all(r.status == Status.KEPT for r in first.values())
    # New prompts: a duplicate of an earlier kept prompt, a duplicate among the new ones, a distinct one.
    new = [EXACT[1], NEAR[1], DISTINCT[8], DISTINCT[8].upper()]
    write_prompts(root, DISTINCT[:6] + new)
    second = run(Project.open(root))
    by_text = {r.text: r for r in second.values()}
    assert by_text[EXACT[1]].meta["duplicate_of"] == by_text[EXACT[0]].id  # earlier prompts always win
    assert by_text[NEAR[1]].meta["duplicate_of"] == by_text[NEAR[0]].id
    pair = [by_text[DISTINCT[8]], by_text[DISTINCT[8].upper()]]
    assert sorted(r.status for r in pair) == [Status.DROPPED, Status.KEPT]
    assert {r.id for r in pair if r.status == Status.DROPPED} != {r.meta.get("duplicate_of") for r in pair}
    assert kept_texts(second) == set(DISTINCT[:6]) | {pair[0].text if pair[0].status == Status.KEPT else pair[1].text}
    store = Project.open(root).store()
    try:  # the first run's prompts were not processed again
        assert len(store.progress.rows("dedup")) == 10
    finally:
        store.close()


def test_decisions_do_not_depend_on_arrival_order(tmp_path, embedder):
    texts = DISTINCT + [EXACT[1], NEAR[1], PARAPHRASE[1]]
    origins = [f"p{i}" for i in range(len(texts))]
    forward = make_prompt_project(tmp_path / "a", texts)
    write_prompts(tmp_path / "a", texts, origins)
    backward = make_prompt_project(tmp_path / "b", texts)
    write_prompts(tmp_path / "b", texts[::-1], origins[::-1])
    a, b = run(forward), run(backward)
    summary = lambda records: {(r.id, r.status, r.reason, r.meta.get("duplicate_of")) for r in records.values()}
    assert summary(a) == summary(b)
    assert sum(r.status == Status.DROPPED for r in a.values()) == 3


def test_methods_and_thresholds_come_from_the_recipe(tmp_path, embedder):
    texts = DISTINCT[:5] + [EXACT[1], PARAPHRASE[1]]
    root = tmp_path / "p"
    records = run(make_prompt_project(root, texts, dedup={"methods": ["exact"]}))
    assert {r.reason for r in records.values() if r.status == Status.DROPPED} == {"duplicate_exact"}
    assert PARAPHRASE[1] in kept_texts(records)
    # Adding semantic redoes the step over the same prompts; the paraphrase goes now.
    recipe = yaml.safe_load((root / "recipe.yaml").read_text())
    recipe["dedup"] = {"methods": ["exact", "semantic"]}
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    records = run(Project.open(root))
    assert PARAPHRASE[1] not in kept_texts(records) or PARAPHRASE[0] not in kept_texts(records)
    # And a threshold above every similarity keeps it again, clearing the old duplicate_of.
    recipe["dedup"] = {"methods": ["exact", "semantic"], "semantic_threshold": 0.999}
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    records = run(Project.open(root))
    paraphrase = next(r for r in records.values() if r.text == PARAPHRASE[1])
    assert paraphrase.status == Status.KEPT and "duplicate_of" not in paraphrase.meta


def test_greedy_rule_only_kept_texts_absorb_others(embedder):
    # b is a near copy of a, c a near copy of b but not of a: b goes, c stays (b was not kept).
    words = [f"w{i}" for i in range(40)]
    a = " ".join(words)
    b = " ".join(words[:36] + ["x1", "x2", "x3", "x4"])  # Jaccard with a: 0.82
    c = " ".join(words[:28] + [f"y{i}" for i in range(8)] + ["x1", "x2", "x3", "x4"])  # with b 0.67, with a 0.54
    report = find_duplicates([a, b, c], 0, Dedup(methods=["near"], near_threshold=0.6, shingle_words=1))
    assert set(report.duplicates) == {1}
    assert report.duplicates[1].of == 0


def test_anchors_are_never_dropped(embedder):
    texts = ["Same text.", "same text", "Same  text!"]
    report = find_duplicates(texts, 2, Dedup(methods=["exact"]))
    assert set(report.duplicates) == {2} and report.duplicates[2].of == 0


# One template over many things, as breadth evolution writes them: the wording is shared, the thing differs.
TEMPLATE_SET = [f"What are the main risks of {thing} for a small hospital?" for thing in (
    "antibiotic resistance", "sleep apnoea", "migraine prevention", "statin side effects", "iron deficiency anaemia",
    "thyroid function tests", "lower back pain", "asthma inhalers",
)]
SAME_CONTENT = (  # a paraphrase: other wording, the same rare words, a synonym for a common one
    "What are the main risks of antibiotic resistance for a small hospital?",
    "For a small hospital, what are the biggest risks of antibiotic resistance?",
)


def test_content_check_tells_a_paraphrase_from_a_same_template_prompt_about_another_thing(embedder):
    texts = TEMPLATE_SET + [SAME_CONTENT[1]]
    settings = Dedup(methods=["semantic"], semantic_threshold=0.75, content_check=True, content_threshold=0.7)
    report = find_duplicates(texts, 0, settings, embedder)
    paraphrase = len(texts) - 1
    assert set(report.duplicates) == {paraphrase}  # no template sibling absorbs another
    assert report.duplicates[paraphrase].of == texts.index(SAME_CONTENT[0])
    # Cosine alone, at the same threshold, takes the siblings for duplicates too: the check is what tells them apart.
    cosine_only = find_duplicates(texts, 0, settings.model_copy(update={"content_check": False}), embedder)
    assert len(cosine_only.duplicates) > 1


def test_other_numbers_make_another_prompt_not_a_near_duplicate():
    texts = ["Draft a 10-week study plan on the Dorian mode for a music school.",
             "Draft a 12-week study plan on the Dorian mode for a music school.",
             "Draft a 10-week study plan on the Dorian mode for a music school please."]
    report = find_duplicates(texts, 0, Dedup(methods=["near"], near_threshold=0.6))
    assert set(report.duplicates) == {2} and report.duplicates[2].of == 0


def test_a_run_without_the_dedup_index_decides_as_one_with_it(tmp_path, embedder):
    first, added = DISTINCT[:7], [EXACT[1], NEAR[1], PARAPHRASE[1], DISTINCT[9], DISTINCT[9].upper()]
    summaries = []
    for name, keep_index in (("with", True), ("without", False)):
        root = tmp_path / name
        run(make_prompt_project(root, first))
        index_file = root / ".sftgen" / "dedup" / "anchors.db"
        assert index_file.exists()
        if not keep_index:
            index_file.unlink()  # the second run reads every kept prompt again (and writes the index anew)
        write_prompts(root, first + added)
        records = run(Project.open(root))
        summaries.append({(r.id, r.status, r.reason, r.meta.get("duplicate_of"), r.meta.get("similarity"))
                          for r in records.values()})
        assert index_file.exists()
    assert summaries[0] == summaries[1]
    assert sum(1 for s in summaries[0] if s[1] == Status.DROPPED) == 4
