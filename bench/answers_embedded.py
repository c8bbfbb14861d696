"""The answer half on the embedded model (SmolLM2-135M via llama-cpp-python), from seeded prompts.

Makes the example project (`sftgen init`), puts its docs into a local search corpus when the example
has none, seeds N kept prompts as if the prompt half had made them, runs the real answer steps
(queries -> local BM25 search -> fetch -> hybrid retrieval -> cited answer -> LLM judge), exports the
SFT file and prints the time per step and in all.

    .venv/bin/python bench/answers_embedded.py [--prompts 6] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sftgen.cli import EXAMPLE  # noqa: E402
from sftgen.export.rows import export_rows, export_schema  # noqa: E402
from sftgen.export.writers import write_rows  # noqa: E402
from sftgen.pipeline import standard_pipeline  # noqa: E402
from sftgen.project import Project  # noqa: E402
from sftgen.run.runner import run_project  # noqa: E402
from tests.support.answer_project import answer_half, seed_prompts  # noqa: E402

PROMPTS = [
    ("What electric charges do up and down quarks carry?", "quarks"),
    ("Why can a single quark never be observed on its own?", "gluons and the strong force"),
    ("How do gluons differ from photons as force carriers?", "gluons and the strong force"),
    ("What is the difference between a baryon and a meson?", "hadrons"),
    ("Which quark is the heaviest, and why does it not form hadrons?", "quarks"),
    ("What does lattice QCD compute, and how?", "hadrons"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=len(PROMPTS))
    parser.add_argument("--keep", type=Path, default=None, help="Make the project here and keep it.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="sftgen-answers-"))
    project_dir = root / "project"
    shutil.copytree(EXAMPLE, project_dir)
    project = Project.open(project_dir)
    corpus = project_dir / project.recipe.research.local.corpus
    if not corpus.exists():
        shutil.copytree(project_dir / "docs", corpus)
    seed_prompts(project_dir, PROMPTS[: args.prompts])

    started = time.perf_counter()
    summary = asyncio.run(run_project(project, steps=answer_half(project_dir)))
    elapsed = time.perf_counter() - started

    store = project.store()
    try:
        rows = list(export_rows(store, standard_pipeline(project.recipe), "sft", project.recipe))
        out = root / "sft.jsonl"
        write_rows(rows, "jsonl", out, export_schema("sft", project.recipe))
        per_step = store.conn.execute(
            """SELECT step, COUNT(*) n, SUM(outcome='kept') kept, SUM(outcome='error') errors,
                      SUM(completion_tokens) tokens, SUM(seconds) seconds
               FROM progress WHERE step LIKE 'answer%' GROUP BY step""").fetchall()
    finally:
        store.close()
    print(f"answer half on the embedded model: {len(PROMPTS[: args.prompts])} prompts, {elapsed:.1f} s wall "
          f"({summary.passes} passes{', stopped: ' + summary.stopped_by if summary.stopped_by else ''})")
    for row in per_step:
        print(f"  {row['step']:<20} inputs {row['n']:>3}  kept {row['kept']:>3}  errors {row['errors']:>3}  "
              f"completion tokens {row['tokens']:>6}  item-seconds {row['seconds']:.1f}")
    print(f"sft rows exported: {len(rows)} -> {out}")


if __name__ == "__main__":
    main()
