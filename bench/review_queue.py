"""How the review server copes with a domain-sized queue: 20,000 prompts and 2,000 answers, a quarter of the
prompts already decided. Prints milliseconds per review-page request (next item + page + decision) and
the time of `sftgen status` counts and a Label Studio export.

    .venv/bin/python bench/review_queue.py [N_PROMPTS]
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.review.app import create_app
from sftgen.decisions.log import Decision, ReviewLog
from sftgen.review.interchange.exchange import write_export
from sftgen.review.queue import ReviewQueue
from sftgen.store import ItemResult

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "sftgen" / "examples" / "quarks"
BASE = "http://127.0.0.1:8765"


def seed(project_dir: Path, n_prompts: int) -> list[Record]:
    store = Project.open(project_dir).store()
    subdomains = ["quarks", "gluons and the strong force", "hadrons"]
    prompts = [Record(kind="prompt", text=f"Prompt number {i} about {subdomains[i % 3]}?", origin="bench",
                      meta={"subdomain": subdomains[i % 3]}) for i in range(n_prompts)]
    answers = [Record(kind="answer", text=f"Answer to {p.text}", parent_ids=[p.id],
                      meta={"prompt_id": p.id, "scores": {"style": {"score": 3 + i % 3, "why": ""}}})
               for i, p in enumerate(prompts[: n_prompts // 10])]
    store.put_records([*prompts, *answers])
    store.commit_batch("dedup", "b", [ItemResult(p.id, Status.KEPT, passes_input_on=True) for p in prompts])
    store.commit_batch("answer_eval", "b", [ItemResult(a.id, Status.KEPT, passes_input_on=True) for a in answers])
    log = ReviewLog(store, standard_pipeline(Project.open(project_dir).recipe))
    for prompt in prompts[: n_prompts // 4]:
        log.record(Decision(prompt.id, "prompt", prompt.id, "seed-reviewer", "accept"))
    store.close()
    return prompts


def main(n_prompts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        root.mkdir()
        shutil.copyfile(EXAMPLE / "recipe.yaml", root / "recipe.yaml")
        started = time.perf_counter()
        seed(root, n_prompts)
        print(f"seeded {n_prompts} prompts, {n_prompts // 10} answers, {n_prompts // 4} decisions "
              f"in {time.perf_counter() - started:.1f}s")
        project = Project.open(root)
        client = TestClient(create_app(project), base_url=BASE)
        page = client.get("/")
        client.post("/whoami", data={"name": "bench", "csrf": csrf(page.text)}, headers={"origin": BASE})
        rounds = 20
        started = time.perf_counter()
        response = client.get("/next?kind=prompt")
        for _ in range(rounds):
            item = re.search(r'data-item-id="([^"]+)"', response.text).group(1)
            response = client.post(f"/item/{item}/decide?kind=prompt&status=todo",
                                   data={"csrf": csrf(response.text), "decision": "accept", "version_id": item},
                                   headers={"origin": BASE})  # follows the redirect to the next item's page
        per_decision = (time.perf_counter() - started) / rounds * 1000
        print(f"decide + load the next item: {per_decision:.0f} ms per item (queue of {n_prompts} prompts)")
        store = project.store()
        queue = ReviewQueue(store, standard_pipeline(project.recipe), project.recipe)
        started = time.perf_counter()
        queue.counts()
        print(f"status counts: {(time.perf_counter() - started) * 1000:.0f} ms")
        started = time.perf_counter()
        count = write_export(queue, "labelstudio", Path(tmp) / "tasks.json")
        print(f"Label Studio export of {count} items: {time.perf_counter() - started:.1f} s")
        store.close()


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
