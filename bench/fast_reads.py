"""The fast reads of issue 17 on a project that was run already: the unchanged second run, `sftgen status`
computed from the store and from its snapshot, and the review app's start (its first page), each timed
ROUNDS times; with several `--src` code trees they take turns, so each is measured at the same load.

    python bench/fast_reads.py /tmp/s22/keepfinal/project-20000 --src /work/main/src --src src

The project is copied into a scratch folder first (a run and the review app write to it; an older store
migrates on open). Prints per tree and read the minimum and median of wall and process CPU seconds (CPU is
the figure to trust on a shared machine), and the unchanged run's executor phase (bench/scale/timed_cli.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from scale.commands import TIMED_CLI, clean_environment  # noqa: E402
from scale.review_timing import free_port  # noqa: E402


def environment(src: Path) -> dict[str, str]:
    return {**clean_environment(), "PYTHONPATH": str(src)}


def timed_command(src: Path, args: list[str], scratch: Path) -> dict[str, float]:
    timings = scratch / "timings.json"
    timings.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(TIMED_CLI), *args], env={**environment(src), "SCALE_BENCH_TIMINGS": str(timings)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    data = json.loads(timings.read_text())
    executor = data.get("phases", {}).get("executor", {})
    return {"wall_s": wall, "cpu_s": data["cpu_s"], "executor_cpu_s": executor.get("cpu_s", 0.0)}


def review_start(src: Path, project: Path, timeout_s: float = 120.0) -> dict[str, float]:
    """`sftgen review` started until its first page is served: wall, and the server process's CPU then."""
    import httpx

    port = free_port()
    sftgen = Path(sys.executable).with_name("sftgen")
    started = time.perf_counter()
    server = subprocess.Popen([str(sftgen), "review", str(project), "--port", str(port)], env=environment(src),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"sftgen review exited {server.returncode} before serving")
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError("sftgen review did not answer")
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=timeout_s).raise_for_status()
                break
            except httpx.TransportError:
                time.sleep(0.02)
        wall = time.perf_counter() - started
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"wall_s": wall, "cpu_s": cpu}


def measure(src: Path, project: Path, scratch: Path) -> dict[str, dict[str, float]]:
    figures = {"unchanged run": timed_command(src, ["run", str(project)], scratch)}
    (project / ".sftgen" / "status.json").unlink(missing_ok=True)
    figures["status computed"] = timed_command(src, ["status", str(project)], scratch)
    figures["status (snapshot)"] = timed_command(src, ["status", str(project)], scratch)
    figures["review first page"] = review_start(src, project)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="a project that was run (copied first, never written)")
    parser.add_argument("--src", type=Path, action="append", required=True,
                        help="a code tree's src folder (PYTHONPATH); give several to compare them")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fast-reads-") as folder:
        scratch = Path(folder)
        projects = {}
        for index, src in enumerate(args.src):
            projects[src] = scratch / f"project-{index}"
            shutil.copytree(args.project, projects[src], symlinks=True)
            measure(src.resolve(), projects[src], scratch)  # migrates the copy, writes its snapshots
        rounds: dict[Path, list[dict[str, dict[str, float]]]] = {src: [] for src in args.src}
        for _ in range(args.rounds):
            for src in args.src:
                rounds[src].append(measure(src.resolve(), projects[src], scratch))
        for src in args.src:
            print(f"\n{src} ({args.rounds} rounds; min / median seconds)")
            for read in rounds[src][0]:
                walls = [r[read]["wall_s"] for r in rounds[src]]
                cpus = [r[read]["cpu_s"] for r in rounds[src]]
                line = (f"  {read:20} wall {min(walls):5.2f} / {statistics.median(walls):5.2f}   "
                        f"CPU {min(cpus):5.2f} / {statistics.median(cpus):5.2f}")
                if read == "unchanged run":
                    executor = [r[read]["executor_cpu_s"] for r in rounds[src]]
                    line += f"   (executor CPU {min(executor):.2f} / {statistics.median(executor):.2f})"
                print(line, flush=True)


if __name__ == "__main__":
    main()
