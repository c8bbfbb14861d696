"""A run killed with SIGKILL mid-run resumes: nothing lost, nothing duplicated, and no request sent
twice for an item whose result was committed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sftgen.store import open_store
from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server
from tests.support.projects import make_project, paragraphs
from tests.support.run_topic_pipeline import CONCURRENCY
from tests.support.topic_step import install_template

REPO = Path(__file__).resolve().parents[1]


def start_run(project: Path, base_url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.support.run_topic_pipeline", str(project), base_url],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def committed(project: Path, step: str) -> int:
    if not (project / ".sftgen" / "store.db").exists():
        return 0
    store = open_store(project)
    try:
        return len(store.progress.rows(step))
    finally:
        store.close()


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.02)


def test_a_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    project = make_project(tmp_path / "p", {f"d{i}.md": f"# D{i}\n\n" + paragraphs(f"t{i}", 6) for i in range(8)})
    install_template(project)
    bodies: list[str] = []
    kills = 0
    with running_fake_server(FakeServerConfig(latency_ms=30)) as server:
        server.script(lambda body: bodies.append(json.dumps(body["messages"], sort_keys=True)) or None)
        for threshold in (3, 12, 25):
            process = start_run(project, server.base_url)
            wait_for(lambda: committed(project, "topic") >= threshold or process.poll() is not None)
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                kills += 1
        final = start_run(project, server.base_url)
        assert final.wait(timeout=120) == 0, final.stderr.read().decode()
    assert kills >= 2, "the run finished before it could be killed: make it longer"

    store = open_store(project)
    try:
        chunk_ids = [record.id for record in store.emitted("chunk")]
        rows = store.progress.rows("topic")
        notes = list(store.emitted("topic"))
        note_rows = store.conn.execute("SELECT COUNT(*) FROM records WHERE kind='note'").fetchone()[0]
    finally:
        store.close()
    assert sorted(row["item_id"] for row in rows) == sorted(chunk_ids), "every chunk processed exactly once"
    assert len(notes) == len(chunk_ids) == note_rows, "one note per chunk, none duplicated"
    resent = sum(count - 1 for count in Counter(bodies).values())
    assert resent <= kills * CONCURRENCY, f"{resent} requests sent again; at most those in flight at the kills"
