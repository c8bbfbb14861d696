"""The embedded llama.cpp server dies mid-run (SIGILL, as a build for another CPU would): `sftgen run` stops
within seconds, says how the server died, and leaves the items in flight pending for the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.embedded, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[1]


def sftgen(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sftgen.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def server_child(parent: int) -> tuple[int, int] | None:
    """(pid, port) of the llama.cpp server started by `parent`, once it runs."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == parent and b"llama_cpp.server" in command:
            return int(stat.parent.name), int(command[command.index(b"--port") + 1])
    return None


def serving(port: int) -> bool:
    """A connection to the server is open: sftgen's client has a completion in flight."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                return True
    return False


def funnel(project: Path) -> dict[str, dict]:
    status = sftgen("status", str(project), "--json")
    assert status.returncode == 0, status.stderr
    return {step["name"]: step for step in json.loads(status.stdout)["steps"]}


def test_a_run_stops_within_seconds_when_the_embedded_server_dies_of_sigill(tmp_path):
    project = tmp_path / "example"
    assert sftgen("init", str(project)).returncode == 0
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        run = subprocess.Popen([sys.executable, "-m", "sftgen.cli", "run", str(project)], cwd=REPO,
                               stdout=stdout, stderr=stderr, env={**os.environ, "COLUMNS": "200"})
    try:
        server_pid, port = wait_for(lambda: server_child(run.pid), 300, "the llama.cpp server")
        wait_for(lambda: serving(port) or run.poll() is not None, 300, "a completion in flight")
        assert run.poll() is None, err.read_text()[-2000:]
        time.sleep(1)  # well inside the first LLM step: completions in flight, some finished
        os.kill(server_pid, signal.SIGILL)
        killed = time.monotonic()
        returncode = run.wait(timeout=60)
        took = time.monotonic() - killed
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()

    printed = out.read_text() + err.read_text()
    assert returncode != 0
    assert took < 15, f"the run took {took:.1f}s to stop after the server died"
    assert "SIGILL" in printed and "scripts/install-llama-portable.sh" in printed
    assert "embedded-server.log" in printed
    assert "Traceback" not in printed
    assert "Fatal Python error" in (project / ".sftgen" / "embedded-server.log").read_text()

    steps = funnel(project)
    assert all(step["errors"] == 0 for step in steps.values()), {n: s["errors"] for n, s in steps.items()}
    chunks, judged = steps["chunk"]["out"], steps.get("chunk_filter", {"in": 0})["in"]
    assert judged < chunks, "the chunks in flight when the server died are still pending"

    again = sftgen("run", str(project), "--until", "chunk_filter", "--limit", "2")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert funnel(project)["chunk_filter"]["in"] > judged
