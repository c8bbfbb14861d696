"""Stopping sftgen: SIGTERM ends a run cleanly, and the embedded server never outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sftgen.store import open_store
from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server
from tests.support.projects import example_project

REPO = Path(__file__).resolve().parents[1]


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_sigterm_stops_a_run_and_records_it(tmp_path):
    project = example_project(tmp_path / "p")
    with running_fake_server(FakeServerConfig(latency_ms=400)) as server:
        env = {**os.environ, "SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": server.base_url,
               "SFTGEN_LLM_MODEL": "fake"}
        process = subprocess.Popen([sys.executable, "-m", "sftgen.cli", "run", str(project)], cwd=REPO, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: server.stats()["requests"] > 0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) != 0
    store = open_store(project)
    try:
        run = store.conn.execute("SELECT outcome, message FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        chunks = store.count_emitted("chunk")
    finally:
        store.close()
    assert run["outcome"] == "interrupted" and "resumes" in run["message"]
    assert chunks > 0, "what finished before the signal is committed"


@pytest.mark.embedded
def test_the_embedded_server_dies_with_its_parent_even_on_sigkill(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from sftgen.llm.embedded import EmbeddedServer
        server = EmbeddedServer(None, 1024, Path({str(tmp_path)!r}) / "server.log")
        server.start()
        print(server.process.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    server_pid = int(parent.stdout.readline())
    assert alive(server_pid)
    parent.kill()
    parent.wait()
    wait_for(lambda: not alive(server_pid), seconds=30)
