"""`python -m sftgen.llm.smoke_test`: start the embedded server and ask it for one tiny completion.

Setup ends with this, so a llama.cpp build that cannot run on this CPU (it dies with SIGILL at the first
completion, after answering `GET /v1/models`) is found at install time, not in the middle of a run."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

from sftgen.llm.embedded import MODEL_ALIAS, EmbeddedServer, EmbeddedServerError


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sftgen-smoke-") as scratch:
        server = EmbeddedServer(None, context_size=512, log_path=Path(scratch) / "embedded-server.log")
        try:
            server.start()
            reply = httpx.post(f"{server.base_url}/chat/completions", timeout=120, json={
                "model": MODEL_ALIAS, "max_tokens": 4, "temperature": 0,
                "messages": [{"role": "user", "content": "Say OK."}],
            })
            reply.raise_for_status()
            text = reply.json()["choices"][0]["message"]["content"]
        except EmbeddedServerError as exc:
            print(f"the embedded model failed to start: {exc}", file=sys.stderr)
            return 1
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            if server.exited_within(2):  # a crash resets the connection just before the process is gone
                why = str(server.death())
            else:
                why = f"{type(exc).__name__}: {exc}\nFrom {server.log_path}:\n{server.log_excerpt()}"
            print(f"the embedded model failed its first completion: {why}", file=sys.stderr)
            return 1
        finally:
            server.stop()
    print(f"embedded model answers ({text.strip()[:20]!r}, {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
