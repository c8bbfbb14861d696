"""The review app as a reviewer meets it: `sftgen review DIR` started as a subprocess, then over HTTP on
127.0.0.1 the first page, the first prompt, accept + the next prompt (the decide POST follows its
redirects to the next item's page) and the stats page. It records real decisions in the store, so it
runs last."""

from __future__ import annotations

import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scale.commands import clean_environment

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ITEM = re.compile(r'data-item-id="([^"]+)"')
VERSION = re.compile(r'name="version_id" value="([^"]*)"')
SHOWN_AT = re.compile(r'name="shown_at" value="([^"]*)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def review_timings(project_dir: Path, decisions: int = 20, timeout_s: float = 300.0) -> dict[str, Any]:
    """The app's timings; `timeout_s` bounds its start and each request."""
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("sftgen")), "review", str(project_dir), "--port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_environment())
    try:
        with httpx.Client(base_url=base, follow_redirects=True, timeout=timeout_s) as client:
            page = first_page(client, server, started, timeout_s)
            start_s = time.perf_counter() - started
            client.post("/whoami", data={"name": "scale-bench", "csrf": CSRF.search(page.text).group(1)},
                        headers={"origin": base})
            t = time.perf_counter()
            page = client.get("/next", params={"kind": "prompt"})
            first_item_s = time.perf_counter() - t
            per_decision = []
            for _ in range(decisions):
                item = ITEM.search(page.text)
                if item is None:
                    break
                form = {"csrf": CSRF.search(page.text).group(1), "decision": "accept",
                        "version_id": VERSION.search(page.text).group(1),
                        "shown_at": SHOWN_AT.search(page.text).group(1)}
                t = time.perf_counter()
                page = client.post(f"/item/{item.group(1)}/decide", params={"kind": "prompt", "status": "todo"},
                                   data=form, headers={"origin": base})
                per_decision.append(time.perf_counter() - t)
                page.raise_for_status()
            t = time.perf_counter()
            client.get("/stats").raise_for_status()
            stats_s = time.perf_counter() - t
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return {"start_s": start_s, "first_item_s": first_item_s, "stats_s": stats_s, "decisions": len(per_decision),
            "decide_next_median_s": statistics.median(per_decision) if per_decision else float("nan"),
            "decide_next_min_s": min(per_decision, default=float("nan")),
            "decide_next_max_s": max(per_decision, default=float("nan"))}


def first_page(client, server: subprocess.Popen, started: float, timeout_s: float):
    """GET / until the server answers (the whoami page, which loads the queue's counts)."""
    import httpx

    while True:
        if server.poll() is not None:
            raise RuntimeError(f"sftgen review exited {server.returncode} before serving")
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"sftgen review did not answer within {timeout_s:.0f} s (--timeout)")
        try:
            page = client.get("/")
            page.raise_for_status()
            return page
        except httpx.TransportError:
            time.sleep(0.05)
