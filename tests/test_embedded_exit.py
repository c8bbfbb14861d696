"""How a dead embedded server is described: the signal or exit code, a hint for SIGILL, and the part of its
log that names the crash."""

from __future__ import annotations

import signal
import subprocess
import sys

from sftgen.failures import RunStopped
from sftgen.llm.embedded import EmbeddedServerDied, EmbeddedServerError, crash_excerpt, exit_description


def test_an_exit_code_is_named():
    assert exit_description(3) == "exited with code 3"


def test_a_signal_is_named():
    assert exit_description(-signal.SIGKILL) == "killed by SIGKILL"


def test_sigill_gets_the_hint_about_the_cpu_build():
    described = exit_description(-signal.SIGILL)
    assert described.startswith("killed by SIGILL")
    assert "built for a CPU" in described and "scripts/install-llama-portable.sh" in described


def test_a_dead_server_stops_the_run():
    assert issubclass(EmbeddedServerDied, EmbeddedServerError) and issubclass(EmbeddedServerError, RunStopped)


def test_of_a_crash_dump_the_excerpt_keeps_the_fatal_error_and_the_crashed_thread():
    """A real dump: Python's faulthandler (which the server runs with) on a SIGILL."""
    crashed = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c",
         "import os, signal, threading, time\n"
         "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
         "print('INFO: 127.0.0.1 - \"POST /v1/chat/completions HTTP/1.1\" 200 OK', flush=True)\n"
         "def decode():\n    os.kill(os.getpid(), signal.SIGILL)\n"
         "decode()\n"],
        capture_output=True, text=True, timeout=60,
    )
    assert crashed.returncode == -signal.SIGILL
    log = (crashed.stdout + crashed.stderr).splitlines()
    excerpt = crash_excerpt(log, 8).splitlines()
    assert "Fatal Python error: Illegal instruction" in excerpt
    assert any(line.startswith("Current thread") for line in excerpt)
    assert any("in decode" in line for line in excerpt)
    assert not any("time.sleep" in line or "in sleep" in line for line in excerpt), "not the other threads"
    assert len(excerpt) <= 8


def test_without_a_crash_dump_the_excerpt_is_the_last_lines():
    log = [f"line {n}" for n in range(30)]
    assert crash_excerpt(log, 8).splitlines() == log[-8:]


def test_how_the_server_died_replaces_a_connection_error_the_breaker_met_first():
    """On a loaded machine the breaker can trip on 'connection refused' before the dying process is seen to
    exit; once it has, the run stops with how the server died."""
    import asyncio

    from sftgen.llm.client import LLMUnusable
    from sftgen.llm.provider import EmbeddedChatClient

    class DyingServer:  # the process state as EmbeddedServer reports it: still running, then killed
        def __init__(self):
            self.gone = False

        def exited(self):
            return self.gone

        def death(self):
            return EmbeddedServerDied(f"the embedded LLM server stopped during the run: "
                                      f"{exit_description(-signal.SIGILL)}")

    async def go():
        server = DyingServer()
        client = EmbeddedChatClient(server, "http://127.0.0.1:9", "packaged")
        client.give_up(LLMUnusable("Cannot connect to the LLM server (llm.base_url)"))
        assert isinstance(client.unusable, LLMUnusable)
        server.gone = True
        client.give_up(server.death())
        assert isinstance(client.unusable, EmbeddedServerDied) and "SIGILL" in client.unusable.message
        client.give_up(LLMUnusable("a later refusal"))  # how it died stays the news
        assert isinstance(client.unusable, EmbeddedServerDied)
        await client.aclose()

    asyncio.run(go())
