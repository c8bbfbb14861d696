"""Screenshot of the review page (an answer with its rubric, citations and passages) for the README.

    .venv/bin/python scripts/review_screenshot.py docs/review.png

Builds a throwaway project from the packaged example recipe, puts a few prompts and one answer in its store
as the pipeline would have passed them on, serves the review page on 127.0.0.1 and photographs it in
Debian's headless Chromium (`scripts/install-test-deps.sh`).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from sftgen.project import Project
from sftgen.decisions.log import Decision, ReviewLog
from sftgen.pipeline import standard_pipeline
from sftgen.records import Record, Status
from sftgen.review.server import running_review_server
from sftgen.store import ItemResult

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "sftgen" / "examples" / "quarks"
PROMPTS = [
    ("Why can a free quark never be observed, even in high-energy collisions?", "gluons and the strong force"),
    ("Compare the electric charges of up-type and down-type quarks.", "quarks"),
]
PASSAGES = [
    ("Colour confinement means that quarks and gluons cannot be isolated: the energy stored in the colour "
     "field grows with distance until a new quark-antiquark pair forms.", "https://example.org/confinement",
     "Colour confinement"),
    ("In high-energy collisions the struck quark hadronises into a jet of colourless hadrons within about "
     "10^-23 s, so detectors see jets, not free quarks.", "https://example.org/jets", "Jets and hadronisation"),
]
ANSWER = ("Quarks carry colour charge, and the strong force between colour charges does not weaken with "
          "distance [1]. Pulling two quarks apart stores energy in the gluon field until it is enough to "
          "create a new quark-antiquark pair, so you always end up with colourless hadrons [1]. In "
          "collisions the struck quark therefore shows up as a jet of hadrons rather than alone [2].")


def seed(project_dir: Path) -> None:
    project = Project.open(project_dir)
    pipeline = standard_pipeline(project.recipe)
    store = project.store(pipeline.upstream_map())
    try:
        prompts = [Record(kind="prompt", text=t, meta={"subdomain": s, "topic": "confinement",
                                                        "task_type": "explain"}, origin="demo") for t, s in PROMPTS]
        passages = [Record(kind="passage", text=t, parent_ids=[prompts[0].id], origin=str(n),
                           meta={"url": u, "title": title, "prompt_id": prompts[0].id})
                    for n, (t, u, title) in enumerate(PASSAGES, 1)]
        answer = Record(kind="answer", text=ANSWER, parent_ids=[prompts[0].id, *(p.id for p in passages)], meta={
            "prompt_id": prompts[0].id, "rag": True, "subdomain": PROMPTS[0][1],
            "citations": [{"n": n, "url": p.meta["url"], "title": p.meta["title"], "passage_id": p.id}
                          for n, p in enumerate(passages, 1)],
            "scores": {"style": {"score": 4, "why": "clear and direct"},
                       "domain": {"score": 5, "why": "squarely QCD"},
                       "groundedness": {"score": 3, "why": "the timescale is not in the passages"}},
        })
        store.put_records([*prompts, *passages, answer])
        store.commit_batch("dedup", "demo", [ItemResult(p.id, Status.KEPT, passes_input_on=True) for p in prompts])
        store.commit_batch("answer_eval", "demo", [ItemResult(answer.id, Status.KEPT, passes_input_on=True)])
        ReviewLog(store, pipeline).record(Decision(prompts[0].id, "prompt", prompts[0].id, "maria", "accept", seconds=8.2))
    finally:
        store.close()


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = Path(tmp) / "quarks"
        project_dir.mkdir()
        shutil.copyfile(EXAMPLE / "recipe.yaml", project_dir / "recipe.yaml")
        (project_dir / "docs").mkdir()
        seed(project_dir)
        with running_review_server(Project.open(project_dir)) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.url)
            page.fill("[data-testid=name]", "maria")
            page.click("button[type=submit].accept")
            page.goto(f"{server.url}/next?kind=answer")
            page.keyboard.press("4")
            page.keyboard.press("5")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review.png"))
