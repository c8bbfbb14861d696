"""CPU per item of the LLM steps' own work (issue 17), replayed from the LLM cache of a project a
`bench/pipeline_scale.py --keep DIR` run left: each step's progress is forgotten in a fresh copy of the
project and the step runs again through `run_project` (the executor, the step's precheck, rendering, the
cache key, the cached reply's parsing, on_reply, the results' commit), every reply a cache hit, so no HTTP
client and no server are in the figure. A request that is not a cache hit fails the replay (the recipe's
server is gone): a changed cache key shows as an error here.

With `--against SRC` each round also runs the same replay with another checkout's `src` (main's, say), the
two taking turns in fresh processes; the best round's CPU ms per item of each is printed, and their ratio.
`--cprofile DIR` writes a cProfile of each step's replay (this checkout's) there.

    PYTHONPATH=src .venv/bin/python bench/step_replay_cpu.py COPY/project-2000 [--steps profile,answer]
        [--repeat 3] [--against /work/main/src] [--cprofile DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPLAYED = ("chunk_filter", "profile", "rephrase", "prompt_filter", "answer", "answer_eval")
"""The LLM steps whose replay redoes their items (generate and broaden find their quotas full)."""
HERE = Path(__file__).resolve()


def replay(project_dir: Path, step: str, cprofile: Path | None) -> dict[str, float]:
    """Forget `step`'s progress in this project and run it again; its CPU seconds and items."""
    import asyncio

    from sftgen.pipeline import standard_pipeline
    from sftgen.project import Project
    from sftgen.run.runner import RunOptions, run_project

    project = Project.open(project_dir)
    pipeline = standard_pipeline(project.recipe)
    store = project.store(graph=pipeline.upstream_map())
    items = [row["item_id"] for row in store.progress.rows(step)]
    store.forget_progress(step, items)
    store.close()
    (project.state_dir / "settled.json").unlink(missing_ok=True)
    profiler = None
    if cprofile is not None:
        import cProfile

        profiler = cProfile.Profile()
    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    summary = asyncio.run(run_project(project, RunOptions(), pipeline=pipeline, steps=[pipeline.step(step)]))
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - started
    if profiler is not None:
        profiler.dump_stats(str(cprofile / f"{step}.pstats"))
    outcomes = dict(summary.outcomes.get(step, {}))
    return {"cpu_s": cpu, "items": summary.processed.get(step, 0), "errors": outcomes.get("error", 0),
            "outcomes": outcomes}


def child(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sftgen-replay-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(args.project, copy, symlinks=True)
        print(json.dumps(replay(copy, args.child, args.cprofile)))


def run_child(src: str, project: Path, step: str, cprofile: Path | None) -> dict[str, float]:
    command = [sys.executable, str(HERE), str(project), "--child", step]
    if cprofile is not None:
        command += ["--cprofile", str(cprofile)]
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"replay of {step} with {src} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--steps", default=",".join(REPLAYED))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", default=None, help="another checkout's src folder, replayed in turn")
    parser.add_argument("--cprofile", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    this = str(HERE.parents[1] / "src")
    sources = {"this": this, **({"against": args.against} if args.against else {})}
    if args.cprofile is not None:
        args.cprofile.mkdir(parents=True, exist_ok=True)
    best: dict[tuple[str, str], float] = {}
    for step in args.steps.split(","):
        for round_ in range(args.repeat):
            for name, src in sources.items():
                profile = args.cprofile if name == "this" and round_ == 0 else None
                result = run_child(src, args.project, step, profile)
                if result["errors"]:
                    raise SystemExit(f"{step} ({name}): {result['errors']} items failed: {result['outcomes']}")
                if profile is None:  # a profiled round is slower: not a figure
                    ms = 1000 * result["cpu_s"] / max(1, result["items"])
                    best[(step, name)] = min(best.get((step, name), float("inf")), ms)
        line = f"{step:<14} " + "  ".join(f"{name} {best[(step, name)]:6.3f} ms/item"
                                          for name in sources if (step, name) in best)
        if len(sources) == 2 and (step, "this") in best and (step, "against") in best:
            line += f"  this/against x{best[(step, 'this')] / best[(step, 'against')]:.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
