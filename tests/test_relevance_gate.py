"""The chunk filter's relevance gate in a run and `sftgen calibrate` on the command line, against the
scripted fake server and the real static embedder: every chunk carries its relevance score; with a band in
the recipe, the clear cases are decided by the score without a request and only the rest reach the LLM."""

from __future__ import annotations

import json

import yaml

from sftgen.store import open_store
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.prompt_script import PromptScript
from tests.test_cli_output import app, fake_llm_env, no_traceback, runner
from tests.test_prompt_pipeline import make_project, progress, recipe
from tests.test_relevance_calibration import DISTRACTORS, PHYSICS, write_sample

DOCS = {f"physics-{i}.md": f"{text} " * 4 for i, text in enumerate(PHYSICS[:3])}
DOCS |= {f"other-{i}.md": f"{text} " * 4 for i, text in enumerate(DISTRACTORS[:3])}


class TopicalModel(PromptScript):
    """A chunk filter that keeps physics and nothing else; counts what it was asked."""

    def __init__(self):
        super().__init__()
        self.asked: list[str] = []

    def chunk_filter(self, user):
        self.asked.append(user)
        passage = user.split("<PASSAGE>", 1)[1].split("</PASSAGE>", 1)[0]
        physics = any(word in passage for word in ("quark", "Quark", "gluon", "Gluon", "baryon", "Meson"))
        return {"explanation": "Physics." if physics else "Not physics.", "verdict": "keep" if physics else "off_domain"}


def chunk_rows(project):
    store = open_store(project)
    try:
        chunks = {r.id: r for r in store.records_of_kind("chunk")}
    finally:
        store.close()
    return {chunks[row["item_id"]].meta["source"].split("/")[-1]: (row, chunks[row["item_id"]])
            for row in progress(project, "chunk_filter")}


def run_chunk_filter(project, model):
    with running_fake_server() as server:
        server.script_steps(model)
        ran = runner.invoke(app, ["run", str(project), "--until", "chunk_filter"], env=fake_llm_env(server))
    assert ran.exit_code == 0 and no_traceback(ran), ran.output


def test_a_band_decides_the_clear_chunks_without_asking_and_every_chunk_carries_its_score(tmp_path):
    project = make_project(tmp_path / "p", DOCS, {**recipe(target_total=None), "profiles": {"min_chunk_chars": 50}})
    first = TopicalModel()
    run_chunk_filter(project, first)
    assert len(first.asked) == len(DOCS)  # no band: the LLM judges every chunk
    scores = {name: chunk.meta["relevance"] for name, (_, chunk) in chunk_rows(project).items()}
    physics = sorted(s for name, s in scores.items() if name.startswith("physics"))
    other = sorted(s for name, s in scores.items() if name.startswith("other"))
    assert min(physics) > max(other)

    settings = yaml.safe_load((project / "recipe.yaml").read_text())
    settings["relevance"] = {"keep_at": round(physics[-1] - 1e-4, 4), "drop_below": round(other[-1] - 1e-4, 4)}
    (project / "recipe.yaml").write_text(yaml.safe_dump(settings))
    second = TopicalModel()
    run_chunk_filter(project, second)

    rows = {name: row for name, (row, _) in chunk_rows(project).items()}
    by_score = [name for name, row in rows.items() if row["llm_requests"] + row["cache_hits"] == 0]
    assert len(by_score) == 1 + 2  # the best physics chunk kept, the two lowest others dropped, by score
    assert all(rows[name]["reason"] == "relevant" for name in by_score if name.startswith("physics"))
    dropped = [rows[name] for name in by_score if name.startswith("other")]
    assert all(r["reason"] == "off_domain" and "below relevance.drop_below" in r["detail"] for r in dropped)
    assert second.asked == []  # the three in the band were answered from the first run's cache
    kept = {name for name, row in rows.items() if row["outcome"] == "kept"}
    assert kept == {name for name in DOCS if name.startswith("physics")}


def test_calibrate_prints_figures_with_and_without_the_llm_and_the_recipe_lines(tmp_path):
    project = make_project(tmp_path / "p", DOCS, recipe(target_total=None))
    write_sample(project / "labelled.jsonl", PHYSICS, DISTRACTORS)
    model = TopicalModel()
    with running_fake_server() as server:
        server.script_steps(model)
        result = runner.invoke(app, ["calibrate", str(project), str(project / "labelled.jsonl")],
                               env={**fake_llm_env(server), "COLUMNS": "200"})
    assert result.exit_code == 0 and no_traceback(result), result.output
    out = " ".join(result.output.split())
    assert "12 labelled texts (6 relevant)" in out and "score from centroids of this sample" in out
    assert "score alone, cut" in out and "(cross-validated)" in out
    assert "score + LLM in the band:" in out and f"LLM requests {len(model.asked)} (the LLM alone: 12)" in out
    lines = result.output.split("put in recipe.yaml:")[1]
    section = yaml.safe_load("\n".join(line[2:] for line in lines.splitlines() if line.strip()))
    assert section["relevance"]["examples"] == "labelled.jsonl"
    assert section["relevance"]["drop_below"] <= section["relevance"]["keep_at"]


def test_calibrate_names_a_broken_sample_and_exits_2(tmp_path):
    project = make_project(tmp_path / "p", DOCS, recipe(target_total=None))
    (project / "labelled.jsonl").write_text(json.dumps({"text": "Quarks.", "relevant": True}) + "\n")
    result = runner.invoke(app, ["calibrate", str(project), str(project / "labelled.jsonl"), "--no-llm"])
    assert result.exit_code == 2 and no_traceback(result)
    assert "every text is labelled relevant" in result.output
