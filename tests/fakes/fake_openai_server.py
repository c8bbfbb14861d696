"""A fake OpenAI-compatible chat server for tests and benchmarks.

In-process (a background thread with its own event loop):

    with running_fake_server(FakeServerConfig(rate_429=0.1)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")
        ...
        server.stats()["outcomes"]["429"]

As a subprocess with its own core (benchmarks):

    with spawn_fake_server(FakeServerConfig(latency_kind="lognormal", latency_ms=200)) as server:
        server.set_config(rate_500=0.05)

or by hand: `python tests/fakes/fake_openai_server.py --port 0 --rate-429 0.1`, which prints
`PORT <n>` as its first line and then serves until killed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `tests.fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.fake_app import FakeServerState, ScriptFunction, StepScriptFunction, start_serving
from tests.fakes.fake_config import FakeServerConfig, ReplyRule, build_arg_parser, config_from_args

HOST = "127.0.0.1"
DEFAULT_BACKLOG = 2048
STARTUP_TIMEOUT_S = 30.0

__all__ = [
    "FakeOpenAIServer", "FakeServerConfig", "FakeServerProcess", "ReplyRule",
    "running_fake_server", "spawn_fake_server",
]


class FakeServerControl:
    """Talks to a running fake server's control endpoints over HTTP (stdlib only)."""

    port: int

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client as base_url."""
        return f"{self.root_url}/v1"

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset(self) -> dict[str, Any]:
        """Zero the stats, per-body attempt counters and rule use counts."""
        return self._call("POST", "/reset")

    def set_config(
        self, changes: FakeServerConfig | dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change config fields at runtime (a whole config, a dict or keywords); returns the new config.

        Giving `rules` replaces the rules and restarts their `times` counts.
        """
        if isinstance(changes, FakeServerConfig):
            changes = changes.to_dict()
        return self._call("POST", "/config", {**(changes or {}), **fields})

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/config")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        if method == "POST":
            payload = payload or {}
        data = None if payload is None else json.dumps(_jsonable(payload)).encode()
        request = urllib.request.Request(self.root_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


class FakeOpenAIServer(FakeServerControl):
    """The fake server on a background thread with its own event loop."""

    def __init__(self, config: FakeServerConfig | None = None, backlog: int = DEFAULT_BACKLOG) -> None:
        self.state = FakeServerState(config or FakeServerConfig())
        self.backlog = backlog
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="fake-openai-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(STARTUP_TIMEOUT_S):
            raise RuntimeError("fake server did not start in time")
        if failure:
            raise RuntimeError("fake server failed to start") from failure[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._thread = None

    def script(self, function: ScriptFunction) -> None:
        """Register a Python reply script; scripts run before the config rules, in order."""
        self._on_loop(self.state.scripts.append, lambda request: function(request.body))

    def script_steps(self, function: StepScriptFunction) -> None:
        """Register a reply script that is told which step asks (by the request's X-Sftgen-Step header)."""
        self._on_loop(self.state.scripts.append, lambda request: function(request.step, request.body))

    def clear_scripts(self) -> None:
        self._on_loop(self.state.scripts.clear)

    def __enter__(self) -> FakeOpenAIServer:
        return self if self._thread else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            serving = start_serving(self.state, HOST, 0, self.backlog)
            self._runner, self.port = loop.run_until_complete(serving)
        except BaseException as error:  # reported to start(), which raises it in the caller's thread
            failure.append(error)
            ready.set()
            loop.close()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _on_loop(self, function: Any, *args: Any) -> None:
        # State belongs to the loop thread; mutate it there so handlers never see a half change.
        async def call() -> None:
            function(*args)

        if self._loop is None:
            function(*args)
        else:
            asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)


@contextmanager
def running_fake_server(config: FakeServerConfig | None = None) -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer(config).start()
    try:
        yield server
    finally:
        server.stop()


class FakeServerProcess(FakeServerControl):
    """A handle on the fake server running as a subprocess; close() terminates it."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> FakeServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def spawn_fake_server(
    config: FakeServerConfig | None = None, backlog: int = DEFAULT_BACKLOG
) -> FakeServerProcess:
    """Start the server in its own Python process and wait for its `PORT n` line."""
    config_json = json.dumps((config or FakeServerConfig()).to_dict())
    command = [sys.executable, str(Path(__file__).resolve()), "--port", "0"]
    command += ["--backlog", str(backlog), "--config-json", config_json]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        port = _read_port_line(process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return FakeServerProcess(process, port)


def _read_port_line(process: subprocess.Popen[str]) -> int:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(STARTUP_TIMEOUT_S)
    first_line = lines[0].strip() if lines else ""
    if not first_line.startswith("PORT "):
        exit_code = process.poll()
        raise RuntimeError(f"fake server did not report its port (exit code {exit_code}, got {first_line!r})")
    return int(first_line.split()[1])


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    rules = payload.get("rules")
    if rules is None:
        return payload
    return {**payload, "rules": [dataclasses.asdict(r) if isinstance(r, ReplyRule) else r for r in rules]}


async def serve_forever(config: FakeServerConfig, host: str, port: int, backlog: int) -> None:
    runner, bound_port = await start_serving(FakeServerState(config), host, port, backlog)
    print(f"PORT {bound_port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    args = build_arg_parser().parse_args(argv)
    try:
        asyncio.run(serve_forever(config_from_args(args), args.host, args.port, args.backlog))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
