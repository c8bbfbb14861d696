"""Mission scale (issue 17): the whole pipeline at N prompts against the fake LLM server, per step.

For each size it builds a project (bench/scale/project.py: documents sized for N kept prompts, research
off, answers on with the local search backend over a small corpus), starts the fake OpenAI-compatible
server as a subprocess on 127.0.0.1 with a scripted model that keeps what every step needs (fixed latency),
and runs `sftgen run` at 64 in flight as a subprocess, timed from inside (bench/scale/timed_cli.py: per
step wall and process CPU, LLM requests, peak RSS, /proc/self/io; nothing of sftgen is changed). Then, in
the same run: a plain asyncio client sending the same request bodies (from the run's LLM cache) at the same
concurrency to the same server, the unchanged second run, `sftgen status`, the prompt and SFT exports in
JSONL and Parquet, `sftgen report`, and the review app (start, first item, decide + next, stats). It prints
the figures per size, the issue's table with the measured columns and the "done when" ratios with their
goals.

    .venv/bin/python bench/pipeline_scale.py [--sizes 2000,20000] [--latency 0.2] [--concurrency 64]
        [--plain aiohttp,sftgen|openai|both] [--profile-dir DIR [--profile-sizes 2000] [--native]] [--json OUT]
        [--keep DIR] [--workdir DIR] [--skip-reads] [--timeout 4800]
    .venv/bin/python bench/pipeline_scale.py --tables-from small.json large.json   # sizes run apart

The goal "whole run <= 1.5x the plain client" is set at 0.2 s latency and 64 in flight, hence the defaults
(the issue's table of what was seen was measured at 0.05 s). `--timeout` bounds every phase (each sftgen
command, the plain client, the review app); network goes only to the fake server and the review app on
127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.fakes` and `tests.support` live in the repo, not the package
    sys.path.insert(0, str(ROOT))

from scale.commands import CommandResult, PhaseTimeout, Profiling, run_sftgen, steps_summary  # noqa: E402
from scale.machine import load_between, snapshot  # noqa: E402
from scale.plain_client import LOOPS, cached_bodies, plain_client  # noqa: E402
from scale.project import make_scale_project  # noqa: E402
from scale.scripted_server import spawn_scripted_server  # noqa: E402
from scale.store_stats import column_bytes, disk_usage, kept_counts, progress_by_step, table_sizes  # noqa: E402
from scale.issue_table import print_issue_table  # noqa: E402
from scale.summary import print_growth, print_partial, print_size  # noqa: E402

EXPORTS = [("prompts", "jsonl"), ("prompts", "parquet"), ("sft", "jsonl"), ("sft", "parquet")]


def command_figures(result: CommandResult) -> dict[str, Any]:
    return {"wall_s": result.wall_s, "cpu_s": result.cpu_s, "peak_rss_mb": result.peak_rss_mb,
            "write_bytes": result.write_bytes, "phases": result.timings.get("phases", {})}


def measure_run(project: Path, scratch: Path, label: str, server, profiling: Profiling | None,
                timeout_s: float) -> dict[str, Any]:
    server.reset()
    before = snapshot(server.process.pid)
    result = run_sftgen(["run", str(project)], scratch, label, profiling, timeout_s=timeout_s).check()
    after = snapshot(server.process.pid)
    served = server.stats()
    return {**command_figures(result), "served_requests": served["requests"], "outcomes": served["outcomes"],
            "max_in_flight": served["max_in_flight"], "wchar": result.wchar,
            "steps": steps_summary(result), "load": load_between(before, after, result.cpu_s),
            "output_tail": "\n".join(result.output.splitlines()[-40:])}


def measure_reads(project: Path, scratch: Path, n: int, profiling: Profiling | None,
                  timeout_s: float) -> dict[str, Any]:
    reads: dict[str, Any] = {}

    def timed(name: str, args: list[str], label: str) -> CommandResult:
        result = run_sftgen(args, scratch, label, profiling, timeout_s=timeout_s).check()
        reads[name] = command_figures(result)
        if profiling is not None:
            reads[name]["profile"] = profile_of(profiling, label)
        return result

    # The closing status of the unchanged run left a snapshot (sftgen/status_data.py): `status` reads it.
    # Removed first, the status is computed from the store, as after any change.
    (project / ".sftgen" / "status.json").unlink(missing_ok=True)
    timed("status computed", ["status", str(project)], f"status-computed-{n}")
    timed("status", ["status", str(project)], f"status-{n}")
    for what, fmt in EXPORTS:
        out = scratch / f"export-{n}-{what}.{fmt}"
        timed(f"export {what} {fmt}", ["export", str(project), "--what", what, "--format", fmt, "--out", str(out)],
              f"export-{n}-{what}-{fmt}")
        reads[f"export {what} {fmt}"]["file_bytes"] = out.stat().st_size
        out.unlink()
    timed("report", ["report", str(project)], f"report-{n}")
    from scale.review_timing import review_timings

    reads["review"] = review_timings(project, timeout_s=timeout_s)
    return reads


def profile_of(profiling: Profiling, label: str) -> dict[str, Any]:
    from scale.profile_steps import analyse

    analysis = analyse(profiling.folder / f"{label}.speedscope.json", top=30)
    (profiling.folder / f"{label}.analysis.json").write_text(json.dumps(analysis, indent=1))
    return analysis


def measure_size(n: int, args: argparse.Namespace, server, workdir: Path, result: dict[str, Any]) -> None:
    """Fills `result` phase by phase (what a --timeout leaves is kept)."""
    scratch = workdir / f"size-{n}"
    scratch.mkdir(parents=True, exist_ok=True)
    project = make_scale_project(scratch / "project", n, server.base_url, args.concurrency)
    profiling = None
    if args.profile_dir and (not args.profile_sizes or n in args.profile_sizes):
        profiling = Profiling(args.profile_dir, args.py_spy_rate, args.native)
    print(f"\n[{n} prompts] sftgen run ...", flush=True)
    result.update({"size": n, "latency_s": args.latency, "concurrency": args.concurrency,
                   "profiled": profiling is not None})
    result["estimate"] = dry_run_estimate(project, scratch, n, args.timeout)
    result["run"] = measure_run(project, scratch, f"run1-{n}", server, profiling, args.timeout)
    print_estimate_against_run(n, result["estimate"], result["run"]["wall_s"])
    result["kept"] = kept_counts(project)
    result["progress"] = progress_by_step(project)
    result["disk"] = disk_usage(project)
    result["tables"] = table_sizes(project)
    result["columns"] = column_bytes(project)
    bodies = cached_bodies(project)
    result["plain"] = {}
    for client in args.plain:
        print(f"[{n} prompts] plain {client} client, {len(bodies)} requests ...", flush=True)
        server.reset()
        timing = plain_client(client, bodies, server.base_url, args.concurrency, args.timeout)
        result["plain"][client] = {**timing.__dict__, "cpu_ms_per_request": timing.cpu_ms_per_request,
                                   "served_requests": server.stats()["requests"]}
    del bodies
    print(f"[{n} prompts] unchanged second run ...", flush=True)
    result["second_run"] = measure_run(project, scratch, f"run2-{n}", server, profiling, args.timeout)
    if not args.skip_reads:
        print(f"[{n} prompts] status, exports, report, review ...", flush=True)
        result["reads"] = measure_reads(project, scratch, n, profiling, args.timeout)
    if profiling is not None:
        result["profile"] = profile_of(profiling, f"run1-{n}")
        result["second_run"]["profile"] = profile_of(profiling, f"run2-{n}")
    if args.keep:
        target = args.keep / f"project-{n}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(project), target)


def dry_run_estimate(project: Path, scratch: Path, n: int, timeout_s: float) -> dict[str, Any]:
    """`sftgen run --dry-run --json` before the run (issue 17 item 5: its minutes within 1.5x of the run)."""
    print(f"[{n} prompts] sftgen run --dry-run ...", flush=True)
    result = run_sftgen(["run", str(project), "--dry-run", "--json"], scratch, f"dry-run-{n}", timeout_s=timeout_s)
    text = result.check().output
    shape = json.loads(text[text.index("{"):text.rindex("}") + 1])
    return {"wall_s": result.wall_s, "minutes": shape["totals"]["minutes"], "requests": shape["totals"]["requests"],
            "latency_s": shape["latency_s"], "steps": {s["step"]: round(s["minutes"], 3) for s in shape["steps"]}}


def print_estimate_against_run(n: int, estimate: dict[str, Any], run_wall_s: float) -> None:
    ratio = estimate["minutes"] * 60 / run_wall_s if run_wall_s else float("nan")
    print(f"[{n} prompts] dry-run estimate {estimate['minutes']:.1f} min, {estimate['requests']:,.0f} requests "
          f"(latency {estimate['latency_s']} s; the dry run took {estimate['wall_s']:.0f} s) vs the run's "
          f"{run_wall_s / 60:.1f} min: estimate / run = {ratio:.2f}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,20000", help="prompts per project, comma-separated")
    parser.add_argument("--latency", type=float, default=0.2,
                        help="the fake server's fixed latency, seconds (the goal is set at 0.2)")
    parser.add_argument("--concurrency", type=int, default=64, help="llm.max_concurrency of the recipe")
    parser.add_argument("--plain", default="aiohttp,sftgen",
                        help="the plain clients to send the run's requests again, comma-separated: aiohttp (the "
                             "yardstick of the goal), openai, sftgen (our client's transport alone: the floor of "
                             "the CPU per request); both = aiohttp,openai")
    parser.add_argument("--profile-dir", type=Path, default=None, help="py-spy the first run into this folder")
    parser.add_argument("--profile-sizes", default="", help="only these sizes are profiled (default: all)")
    parser.add_argument("--py-spy-rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--native", action="store_true", help="py-spy --native (C frames: SQLite, numpy, faiss)")
    parser.add_argument("--skip-reads", action="store_true", help="no status, exports, report or review")
    parser.add_argument("--keep", type=Path, default=None, help="move each project here after it is measured")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="build the projects and keep the commands' output here (default: a temporary folder)")
    parser.add_argument("--tables-from", type=Path, nargs="+", default=None, metavar="JSON",
                        help="measure nothing: print the growth and the issue's table from --json files of earlier runs")
    parser.add_argument("--timeout", type=float, default=4800.0,
                        help="seconds any one phase may take (a 20,000-prompt run takes ~50 min here)")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.plain = ["aiohttp", "openai"] if args.plain == "both" else [c for c in args.plain.split(",") if c]
    unknown = sorted(set(args.plain) - set(LOOPS))
    if unknown or not args.plain:
        parser.error(f"--plain: {', '.join(unknown) or 'none given'}; choose among {', '.join(LOOPS)} (or both)")
    args.profile_sizes = {int(s) for s in args.profile_sizes.split(",") if s}
    return args


def print_tables(results: list[dict[str, Any]]) -> None:
    if len(results) > 1:
        largest = max(results, key=lambda r: r["size"])  # against the size just below it (20,000 vs 2,000)
        print_growth(max((r for r in results if r["size"] < largest["size"]), key=lambda r: r["size"]), largest)
    print_issue_table(results)


def main() -> None:
    args = parse_args()
    if args.tables_from:
        # Sizes measured in separate runs (e.g. 2,000 profiled, 20,000 not): growth and the issue's table.
        saved = [r for path in args.tables_from for r in json.loads(path.read_text()) if "timed_out" not in r]
        print_tables(sorted(saved, key=lambda r: r["size"]))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="sftgen-scale-") as tmp, spawn_scripted_server(args.latency) as server:
        for n in args.sizes:
            result: dict[str, Any] = {}
            try:
                measure_size(n, args, server, args.workdir or Path(tmp), result)
            except (PhaseTimeout, TimeoutError) as exc:  # TimeoutError: the plain client or the review app
                command = getattr(exc, "result", None)
                result["timed_out"] = {"error": str(exc), "steps": steps_summary(command) if command else {},
                                       "wall_s": command.wall_s if command else 0.0,
                                       "cpu_s": command.cpu_s if command else 0.0}
                if args.json:
                    args.json.write_text(json.dumps([*results, result], indent=1, default=str))
                print_partial(result)
                if results and result["timed_out"]["steps"]:
                    print_growth(max(results, key=lambda r: r["size"]),
                                 {"size": n, "run": {"steps": result["timed_out"]["steps"]}})
                break
            results.append(result)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
            print_size(result)
    if results:
        print_tables(results)


if __name__ == "__main__":
    main()
