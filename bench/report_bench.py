"""Times `sftgen report` on a store of 20,000 kept prompts and 5,000 answers (with judge scores), plus a
reference set of 2,000 prompts. Prints the time of the whole report (store read, metrics, embeddings on
the sample, charts, HTML), with the embedder load included.

    .venv/bin/python bench/report_bench.py [n_prompts]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sftgen.project import Project  # noqa: E402
from sftgen.report.collect import ReportOptions  # noqa: E402
from sftgen.report.command import write_report  # noqa: E402
from tests.support.projects import make_project  # noqa: E402
from tests.support.prompt_script import VOCABULARY  # noqa: E402
from tests.support.report_store import seed_report_store  # noqa: E402

SUBDOMAINS = [("quarks", 0.4), ("gluons", 0.4), ("hadrons", 0.2)]
OPENERS = ["What is", "How does", "Why do", "Explain how", "Compare", "In practice, how"]
TASKS = ["explain", "compare", "calculate", "troubleshoot", "how-to"]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(words))


def main(n_prompts: int) -> None:
    rng = random.Random(0)
    recipe = {"project": "report bench", "prompts": {"target_total": n_prompts},
              "domain": {"name": "particle physics",
                         "subdomains": [{"name": name, "share": share} for name, share in SUBDOMAINS]}}
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = make_project(Path(tmp) / "bench", recipe=recipe)
        prompts = []
        for i in range(n_prompts):
            sub = rng.choices([s for s, _ in SUBDOMAINS], [w for _, w in SUBDOMAINS])[0]
            text = f"{rng.choice(OPENERS)} {sentence(rng, rng.randint(6, 25))} ({i})?"
            prompts.append((text, {"subdomain": sub, "topic": rng.choice(VOCABULARY), "task_type": rng.choice(TASKS),
                                   "use_case": f"studying {rng.choice(VOCABULARY)}", "difficulty": "intermediate"}))
        answers = [(i * 4, sentence(rng, rng.randint(40, 160)) + ".",
                    {"groundedness": rng.randint(1, 5), "domain": rng.randint(1, 5), "style": rng.randint(1, 5)},
                    rng.random() > 0.2) for i in range(n_prompts // 4)]
        started = time.perf_counter()
        seed_report_store(project_dir, prompts, answers)
        seeded = time.perf_counter() - started
        reference = Path(tmp) / "reference.jsonl"
        reference.write_text("".join(json.dumps({"prompt": f"{sentence(rng, rng.randint(5, 20))}?"}) + "\n"
                                     for _ in range(2000)))
        started = time.perf_counter()
        folder = write_report(Project.open(project_dir), ReportOptions(reference=reference))
        took = time.perf_counter() - started
        size = (folder / "index.html").stat().st_size
    print(f"prompts {n_prompts}, answers {len(answers)}, reference 2000: store seeded in {seeded:.1f} s; "
          f"report in {took:.1f} s (goal < 60 s); index.html {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
