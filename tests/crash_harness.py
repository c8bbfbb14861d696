"""Kill `sftgen run` with SIGKILL at random moments, let it finish, and check that nothing was lost or
done twice. Used by tests/test_crash_resume.py (short) and bench/crash_test.py (long).

The fake server runs in this process, so its per-body attempt counters are read directly: a request
body sent more than once was re-sent. The bound: a body can only be re-sent if, at some kill, it had
been sent but its reply was not yet in the store's request cache (the cache is written per reply);
we measure that set's size at every kill (bodies seen by the server minus cache rows) and check the
re-sent total against it, and that set against the client's concurrency.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server

REPO = Path(__file__).resolve().parents[1]
SFTGEN = [sys.executable, "-m", "sftgen.cli"]
PARAGRAPH = ("Quarks come in {n} flavours and carry colour charge; gluons bind them into hadrons. "
             "Document {d} paragraph {p} explains confinement and asymptotic freedom with worked numbers. ")


@dataclass
class CrashReport:
    kills: int = 0
    in_flight_at_kills: list[int] = field(default_factory=list)
    resent: int = 0
    problems: list[str] = field(default_factory=list)
    runs: int = 0
    requests: int = 0


def make_project(directory: Path, n_docs: int, concurrency: int) -> None:
    subprocess.run([*SFTGEN[:-1], "sftgen.cli", "init", str(directory)], check=True, capture_output=True)
    shutil.rmtree(directory / "docs")
    (directory / "docs").mkdir()
    for d in range(n_docs):
        text = "\n\n".join(PARAGRAPH.format(n=6 + p, d=d, p=p) * 4 for p in range(6))
        (directory / "docs" / f"doc{d:04d}.md").write_text(f"# Document {d}\n\n{text}\n", encoding="utf-8")
    shutil.rmtree(directory / "corpus", ignore_errors=True)
    shutil.copytree(directory / "docs", directory / "corpus")  # research.local.corpus: the answer search's pages
    recipe = directory / "recipe.yaml"
    text = recipe.read_text(encoding="utf-8").replace("max_concurrency: 32", f"max_concurrency: {concurrency}")
    # The fake server picks a verdict among the enum's values alike, so the chunk filter drops 4 in 5: a run
    # that happens to judge ~20 chunks may drop over 90% and stop (filters.stop_share), ending before its kill.
    # The filter guard is not what this harness tests.
    text = text.replace("stop_min_items: 20", "stop_min_items: 1000000")
    assert "stop_min_items: 1000000" in text
    recipe.write_text(text, encoding="utf-8")


def run_env(base_url: str) -> dict[str, str]:
    return {**os.environ, "SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": base_url,
            "SFTGEN_LLM_MODEL": "fake-model", "PYTHONPATH": str(REPO / "src"), "COLUMNS": "120"}


def run_to_end(directory: Path, base_url: str, timeout_s: float = 300) -> None:
    done = subprocess.run([*SFTGEN, "run", str(directory)], env=run_env(base_url), capture_output=True,
                          text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise AssertionError(f"sftgen run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def cache_rows(directory: Path) -> int:
    db = directory / ".sftgen" / "store.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0]
    except sqlite3.OperationalError:  # killed before the schema was written
        return 0
    finally:
        conn.close()


def kill_and_resume(directory: Path, server, kills: int, seed: int, min_s: float, max_s: float,
                    report: CrashReport) -> None:
    """Start `sftgen run`, SIGKILL it after a random delay, `kills` times (fewer if the run ends first)."""
    rng = random.Random(seed)
    while report.kills < kills:
        process = subprocess.Popen([*SFTGEN, "run", str(directory)], env=run_env(server.base_url),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report.runs += 1
        # Kill while LLM requests are under way: wait for this run's first request, then a random delay.
        seen = server.state.stats.requests
        while server.state.stats.requests == seen and process.poll() is None:
            time.sleep(0.005)
        deadline = time.monotonic() + rng.uniform(min_s, max_s)
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)
        if process.poll() is not None:  # it finished before its kill: nothing left to interrupt
            return
        process.send_signal(signal.SIGKILL)
        process.wait()
        report.kills += 1
        time.sleep(0.05)  # let the server see the dropped connections
        unanswered = len(server.state.attempts) - cache_rows(directory)
        report.in_flight_at_kills.append(unanswered)


def store_problems(directory: Path) -> list[str]:
    """Every active input of every step processed exactly once, outputs emitted once, no errors."""
    from sftgen.pipeline import standard_pipeline
    from sftgen.project import Project

    steps = standard_pipeline(Project.open(directory).recipe)
    conn = sqlite3.connect(directory / ".sftgen" / "store.db")
    problems = []
    try:
        for step in steps:
            if not step.upstream:
                continue
            marks = ",".join("?" * len(step.upstream))
            unprocessed = conn.execute(
                f"""SELECT COUNT(DISTINCT e.item_id) FROM emits e LEFT JOIN progress p
                    ON p.step = ? AND p.item_id = e.item_id
                    WHERE e.step IN ({marks}) AND e.active = 1 AND p.item_id IS NULL""",
                (step.name, *step.upstream)).fetchone()[0]
            if unprocessed:
                problems.append(f"{step.name}: {unprocessed} inputs never processed")
        mismatched = conn.execute(
            """SELECT p.step, p.item_id, p.n_outputs, COUNT(e.item_id) FROM progress p
               LEFT JOIN emits e ON e.step = p.step AND e.source_id = p.item_id AND e.active = 1
               GROUP BY p.step, p.item_id HAVING COUNT(e.item_id) != p.n_outputs""").fetchall()
        if mismatched:
            problems.append(f"{len(mismatched)} inputs whose active outputs differ from what their progress row "
                            f"says (emitted twice or lost), e.g. {mismatched[:2]}")
        errors = conn.execute("SELECT step, reason, COUNT(*) FROM progress WHERE outcome='error' GROUP BY 1, 2").fetchall()
        if errors:
            problems.append(f"items ended in error: {errors}")
        orphans = conn.execute("SELECT COUNT(*) FROM emits e LEFT JOIN records r ON r.id = e.item_id "
                               "WHERE r.id IS NULL").fetchone()[0]
        if orphans:
            problems.append(f"{orphans} emits of records that were never written")
    finally:
        conn.close()
    return problems


def crash_test(workdir: Path, n_docs: int, kills: int, concurrency: int, latency_ms: float, seed: int = 7,
               min_s: float = 0.05, max_s: float = 1.0) -> CrashReport:
    """Kill and resume a run of the whole pipeline, then check the store and the requests re-sent.

    (A clean reference run is no yardstick for whole-store equality: steps steered by quotas depend on
    the order items finish in, which differs between any two runs.)"""
    report = CrashReport()
    config = FakeServerConfig(latency_ms=latency_ms, latency_kind="fixed")
    project = workdir / "crashed"
    make_project(project, n_docs, concurrency)
    with running_fake_server(config) as server:
        kill_and_resume(project, server, kills, seed, min_s, max_s, report)
        run_to_end(project, server.base_url)
        report.runs += 1
        attempts = dict(server.state.attempts)
    report.resent = sum(count - 1 for count in attempts.values())
    report.requests = sum(attempts.values())
    report.problems.extend(store_problems(project))
    if report.resent > sum(report.in_flight_at_kills):
        report.problems.append(f"{report.resent} requests re-sent, more than the {sum(report.in_flight_at_kills)} "
                               f"unanswered at the kills {report.in_flight_at_kills}")
    if any(n > concurrency for n in report.in_flight_at_kills):
        report.problems.append(f"more unanswered requests at a kill than the concurrency {concurrency}: "
                               f"{report.in_flight_at_kills} (is the cache written per reply?)")
    return report
