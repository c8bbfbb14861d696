"""A full disk stops `sftgen run` at the first failed write: one line naming the path, no traceback, no
request sent after it, no item marked as an error; once space is freed the run resumes to the same data.
For real: the project's `.sftgen` is a 4 MB tmpfs, the LLM the fake server."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sftgen.store.disk_full import DiskFull, is_disk_full
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.projects import TINY_RECIPE, make_project

CONCURRENCY = 4


def docs(count: int) -> dict[str, str]:
    """Documents of about ten 1,000-character chunks each, every chunk its own text."""
    return {
        f"doc{n:03d}.md": "\n\n".join(
            f"Section {n}.{p}. " + " ".join(f"Quark statement {n}-{p}-{w} holds in this passage." for w in range(20))
            for p in range(10)
        )
        for n in range(count)
    }


def project_with(root: Path, documents: dict[str, str]) -> Path:
    recipe = {**TINY_RECIPE, "chunking": {"size": 1000, "overlap": 50},
              "llm": {"max_concurrency": CONCURRENCY, "max_retries": 1, "timeout_s": 10}}
    return make_project(root, documents, recipe)


def sftgen_run(project: Path, server) -> subprocess.CompletedProcess:
    env = {**os.environ, "SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": server.base_url,
           "SFTGEN_LLM_MODEL": "fake", "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "sftgen.cli", "run", str(project), "--until", "chunk_filter"],
                          env=env, capture_output=True, text=True, timeout=300)


def store_rows(project: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(project / ".sftgen" / "store.db")
    try:
        return {
            "records": conn.execute("SELECT id, kind, status, reason FROM records ORDER BY id").fetchall(),
            "progress": conn.execute("SELECT step, item_id, outcome, reason FROM progress ORDER BY step, item_id")
            .fetchall(),
            "emits": conn.execute("SELECT step, item_id, source_id, active FROM emits ORDER BY step, item_id, "
                                  "source_id").fetchall(),
        }
    finally:
        conn.close()


def count(project: Path, query: str) -> int:
    conn = sqlite3.connect(project / ".sftgen" / "store.db")
    try:
        return conn.execute(query).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a 4 MB tmpfs (the write-ahead log of ingest and chunk fits, the LLM cache of the chunk filter does not), unmounted after the test."""
    folder = tmp_path / "project" / ".sftgen"
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_stops_the_run_in_one_line_and_the_run_resumes_after(tmp_path, small_disk):
    documents = docs(30)
    project = project_with(small_disk.parent, documents)
    reference = project_with(tmp_path / "reference", documents)
    with running_fake_server() as server:
        full = sftgen_run(project, server)
        sent = server.stats()["requests"]
        time.sleep(1.0)
        assert server.stats()["requests"] == sent  # nothing more after the run stopped

        output = full.stdout + full.stderr
        assert full.returncode != 0, output
        assert "Traceback" not in output
        lines = [line for line in output.splitlines() if "disk full" in line]
        assert len(lines) == 1, output
        assert lines[0].startswith("error: disk full: cannot write ") and str(small_disk) in lines[0]

        chunks = count(project, "SELECT COUNT(*) FROM records WHERE kind='chunk'")
        stored = count(project, "SELECT COUNT(*) FROM llm_cache")
        assert chunks == 300 and stored < chunks  # the disk filled up before the chunk filter was done
        # Requests sent after the first failed write: at most those already in flight when it failed.
        assert sent <= stored + CONCURRENCY
        assert count(project, "SELECT COUNT(*) FROM progress WHERE outcome='error'") == 0

        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        resumed = sftgen_run(project, server)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert sftgen_run(reference, server).returncode == 0
    assert store_rows(project) == store_rows(reference)
    assert count(project, "SELECT COUNT(*) FROM progress WHERE step='chunk_filter'") == chunks


def test_sqlite_and_os_errors_that_mean_a_full_disk(tmp_path):
    assert is_disk_full(OSError(28, "No space left on device"))
    assert not is_disk_full(OSError(13, "Permission denied"))
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    failure = DiskFull(tmp_path / "store.db", "the LLM request cache")
    assert failure.exit_code != 0 and "\n" not in failure.message
    assert str(tmp_path / "store.db") in failure.message and "KiB free" in failure.message



def fill(folder: Path) -> Path:
    """Write a file until the filesystem has no room left."""
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as error:
            assert is_disk_full(error)
    return filler


def test_a_write_without_room_raises_disk_full_rolls_back_and_stops_cache_reads(small_disk):
    from sftgen.records import Record
    from sftgen.store import ItemResult, Store

    store = Store(small_disk / "store.db")
    told: list[DiskFull] = []
    store.on_disk_full = told.append
    filler = fill(small_disk)
    try:
        results = [ItemResult(f"in{n}", "kept", outputs=[Record(kind="chunk", text=f"text {n} " * 400)])
                   for n in range(200)]
        with pytest.raises(DiskFull) as failure:
            store.commit_batch("chunk", "s", results)
        assert "results of step chunk" in failure.value.message and str(small_disk) in failure.value.message
        assert told == [failure.value]
        with pytest.raises(DiskFull):  # a request sent now could not be stored
            store.cache_get("any key")
        assert store.conn.execute("SELECT COUNT(*) FROM progress").fetchone()[0] == 0  # rolled back whole
        filler.unlink()
        store.commit_batch("chunk", "s", results[:10])  # with room again, writes go on (e.g. the review server)
        assert store.conn.execute("SELECT COUNT(*) FROM progress").fetchone()[0] == 10
    finally:
        store.close()


def test_the_run_log_raises_disk_full_once_and_then_stays_quiet(small_disk):
    import logging

    from sftgen.store.disk_full import RunLogHandler

    handler = RunLogHandler(small_disk / "run-1.log")
    logger = logging.getLogger("sftgen.test_disk_full")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        fill(small_disk)
        with pytest.raises(DiskFull) as failure:
            for _ in range(1000):
                logger.warning("a line for the log " * 20)
        assert "the run log" in failure.value.message
        logger.warning("dropped without a second failure")
    finally:
        logger.removeHandler(handler)
        handler.close()
