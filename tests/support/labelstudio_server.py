"""A real Label Studio server for tests: the `label-studio` package from its own venv (tool_venvs.py), on
SQLite, on 127.0.0.1, offline (no error reporting, no analytics, no version check against PyPI).

Its first start migrates an empty database (about 100 s on 2 cores); that migrated database, with the test
user and API token, is kept beside the venv as a template, so later runs copy it and start in seconds.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.local_http import free_port
from tests.support.tool_venvs import tool_python

EMAIL, PASSWORD, TOKEN = "ana@lab.org", "sftgen-test-pass-1", "sftgen-test-token-0123456789"
START_TIMEOUT_S = 600
TEMPLATE_READY = ".sftgen-template-ready"


@dataclass
class LabelStudio:
    url: str
    process: subprocess.Popen
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Token {TOKEN}"}, timeout=60)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def environment(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LABEL_STUDIO", "DJANGO"))}
    env.update(
        SENTRY_DSN="", FRONTEND_SENTRY_DSN="", LATEST_VERSION_CHECK="false", COLLECT_ANALYTICS="false",
        FEATURE_FLAGS_OFFLINE="true",
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir), DJANGO_DB="sqlite", SECRET_KEY="sftgen-tests-only",
        LOG_LEVEL="WARNING",
    )
    return env


def start(python: Path, data_dir: Path, log: Path, first_start: bool) -> LabelStudio:
    port = free_port()
    command = [str(python.parent / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
               "-p", str(port), "--data-dir", str(data_dir), "--enable-legacy-api-token"]
    if first_start:
        command += ["--username", EMAIL, "--password", PASSWORD, "--user-token", TOKEN]
    with open(log, "a") as out:
        process = subprocess.Popen(command, env=environment(data_dir), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=data_dir, start_new_session=True)
    server = LabelStudio(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Label Studio exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop(server)
    raise RuntimeError(f"Label Studio did not answer within {START_TIMEOUT_S} s:\n{server.log_tail()}")


def stop(server: LabelStudio) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)  # the server and the workers it started, nothing else
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)


def template(python: Path) -> Path:
    """A migrated data folder with the test user, made once per venv."""
    folder = python.parent.parent / "sftgen-labelstudio-template"
    if (folder / TEMPLATE_READY).is_file():
        return folder
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / TEMPLATE_READY).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            started = time.monotonic()
            stop(start(python, folder, folder.with_name(folder.name + ".log"), first_start=True))
            (folder / TEMPLATE_READY).write_text(f"first start {time.monotonic() - started:.0f} s\n")
    return folder


@contextmanager
def running_label_studio(work: Path) -> Iterator[LabelStudio]:
    python = tool_python("labelstudio")
    data_dir = work / "labelstudio-data"
    shutil.copytree(template(python), data_dir)
    server = start(python, data_dir, work / "labelstudio.log", first_start=False)
    try:
        yield server
    finally:
        stop(server)
