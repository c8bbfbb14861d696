"""Starting the review server: `serve` for `sftgen review`, `running_review_server` for tests and programs
(a uvicorn server in a background thread on a free port)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from sftgen.project import Project
from sftgen.review.app import create_app
from sftgen.review.security import TOKEN_ENV, check_binding

STARTUP_TIMEOUT_S = 20.0


def access_token(project: Project, given: str | None) -> str | None:
    """--token, else SFTGEN_REVIEW_TOKEN, else the recipe's review.token."""
    return given or os.environ.get(TOKEN_ENV) or project.recipe.review.token


def serve(project: Project, host: str, port: int, token: str | None, allowed_hosts: tuple[str, ...] = ()) -> None:
    check_binding(host, token)
    uvicorn.run(create_app(project, token, bound_host=host, allowed_hosts=allowed_hosts), host=host, port=port,
                log_level="warning")


@dataclass
class RunningServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def running_review_server(project: Project, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                          allowed_hosts: tuple[str, ...] = ()) -> Iterator[RunningServer]:
    check_binding(host, token)
    app = create_app(project, token, bound_host=host, allowed_hosts=allowed_hosts)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the review server did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningServer(host, bound)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
