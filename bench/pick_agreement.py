"""How often the judge's pick among answer candidates is the one an expert picks (issue 15), on the
README's example project and the embedded model.

    .venv/bin/python bench/pick_agreement.py prepare DIR     # makes DIR, answers PROMPTS with 3 candidates
    (read DIR/candidates.md and write DIR/picks.json: {"<prompt id>": <candidate index>, ...})
    .venv/bin/python bench/pick_agreement.py score DIR [PICKS]  # records the picks, runs, prints agreement

`prepare` makes the example project (`sftgen init`), sets `answers.candidates: 3` and `review.policy: all`,
seeds the prompts below as if the prompt half had kept them (so the figure does not hang on how many
prompts the 135M model writes), and runs the answer half on the embedded model: three candidates per
prompt from the same passages, the rubric judge, the pairwise judge in both orders. It writes each
prompt's candidates (by index, with the judge's mean score) to `candidates.md`, the judge's pick on the
prompt's last line, so a reader can pick before looking at it.
`score` records each pick as the review app does (an accept marked `picked`, by reviewer `expert`), runs
again (the gate applies the picks; no LLM request) and prints `sftgen report`'s candidates lines.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from sftgen.answers.choice import candidates_of  # noqa: E402
from sftgen.decisions.log import ACCEPT, Decision, ReviewLog  # noqa: E402
from sftgen.pipeline import standard_pipeline  # noqa: E402
from sftgen.project import Project  # noqa: E402
from sftgen.records import Record, Status  # noqa: E402
from sftgen.run.runner import run_project  # noqa: E402
from sftgen.store import ItemResult  # noqa: E402

PROMPTS = [
    ("How many quark flavours are there, and what electric charges do quarks carry?", "quarks"),
    ("Why is the top quark so short-lived that it does not form hadrons?", "quarks"),
    ("How are the masses of the light quarks determined if quarks are never seen alone?", "quarks"),
    ("What does asymptotic freedom mean for the strength of the strong force at short distances?",
     "gluons and the strong force"),
    ("Why can a single quark never be isolated in a detector?", "gluons and the strong force"),
    ("How was the gluon first observed in electron-positron collisions?", "gluons and the strong force"),
    ("What is a pentaquark, and how does it differ from a baryon?", "hadrons"),
    ("How does lattice QCD compute the mass of the proton?", "hadrons"),
]


def answer_half(project: Project):
    pipeline = standard_pipeline(project.recipe)
    names = pipeline.names
    return pipeline[names.index(pipeline.final("prompt").name) + 1:]


def prepare(folder: Path) -> None:
    if not folder.exists():
        subprocess.run([sys.executable, "-m", "sftgen.cli", "init", str(folder)], check=True)
    recipe = yaml.safe_load((folder / "recipe.yaml").read_text())
    recipe["answers"]["candidates"] = 3
    recipe["review"] = {**(recipe.get("review") or {}), "policy": "all", "kinds": ["answer"]}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    project = Project.open(folder)
    source = standard_pipeline(project.recipe).final("prompt")
    prompts = [Record(kind="prompt", text=text, meta={"subdomain": sub}, origin="seed") for text, sub in PROMPTS]
    store = project.store()
    try:
        store.commit_batch(source.name, "seeded", [
            ItemResult(item_id=f"seed:{p.id}", outcome=Status.KEPT, outputs=[p]) for p in prompts])
    finally:
        store.close()
    asyncio.run(run_project(project, steps=answer_half(project)))
    write_candidates(project, prompts, folder / "candidates.md")


def write_candidates(project: Project, prompts: list[Record], path: Path) -> None:
    store = project.store()
    lines = []
    try:
        for prompt in prompts:
            candidates = [c for c in candidates_of(store, prompt.id) if c.status == Status.KEPT]
            lines += [f"## {prompt.id}", f"prompt: {prompt.text}", ""]
            for candidate in sorted(candidates, key=lambda c: c.meta.get("candidate_index", 0)):
                lines += [f"### candidate {candidate.meta.get('candidate_index')} (mean {candidate.meta.get('score_mean')})",
                          candidate.text, ""]
            judged = next((c.meta.get("candidate_index") for c in candidates if c.meta.get("judge_chosen")), None)
            lines += [f"judge's pick: {judged}" if candidates else "no candidate kept", "", ""]
    finally:
        store.close()
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}")


def score(folder: Path, picks_path: Path) -> None:
    picks = json.loads(picks_path.read_text())
    project = Project.open(folder)
    pipeline = standard_pipeline(project.recipe)
    store = project.store(graph=pipeline.upstream_map())
    try:
        log = ReviewLog(store, pipeline)
        for prompt_id, index in picks.items():
            candidates = [c for c in candidates_of(store, prompt_id) if c.status == Status.KEPT]
            picked = next(c for c in candidates if c.meta.get("candidate_index") == index)
            log.record(Decision(item_id=picked.id, kind="answer", version_id=picked.id, reviewer="expert",
                                decision=ACCEPT, picked=True),
                       recheck=[c.id for c in candidates if c.id != picked.id])
    finally:
        store.close()
    asyncio.run(run_project(project, steps=answer_half(project)))
    report = subprocess.run([sys.executable, "-m", "sftgen.cli", "report", str(folder)], capture_output=True,
                            text=True, check=True)
    for line in report.stdout.splitlines():
        if line.startswith(("candidates:", "preference pairs:")):
            print(line)


def main() -> None:
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "prepare":
        prepare(folder)
    elif command == "score":
        score(folder, Path(sys.argv[3]) if len(sys.argv) > 3 else folder / "picks.json")
    else:
        raise SystemExit(f"unknown command {command!r}: prepare or score")


if __name__ == "__main__":
    main()
