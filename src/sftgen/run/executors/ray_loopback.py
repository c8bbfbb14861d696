"""Keeping a Ray that runs on this machine alone on the loopback address.

On Linux, Ray 2.60 takes the address of the interface that routes outwards as "this node's IP" and turns
every loopback address it is given into it: `ray.init(address="127.0.0.1:PORT")` dials the machine's own
interface address, and `ray.init()` starts its GCS, raylet and agents there. Its one switch for a
single-machine Ray is RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (the default on Windows and macOS): then "this
node's IP" is 127.0.0.1 and every Ray socket binds and dials 127.0.0.1 only. Ray reads the variable once,
at import, into `ray_constants.ENABLE_RAY_CLUSTER`, so a process that has imported Ray already needs that
constant set as well. The switch keeps programmatic multi-node clusters on one machine working (the test's
head and worker node); only the `ray start --address` command refuses to add a worker node under it.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

LOOPBACK = "127.0.0.1"
SINGLE_MACHINE_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


def is_loopback_address(address: str | None) -> bool:
    """Whether a Ray address means a Ray on this machine: none (start one here) or HOST:PORT on loopback."""
    if address is None or address == "local":
        return True
    host, _, port = address.rpartition(":")
    return "://" not in address and port.isdigit() and host in LOOPBACK_HOSTS


def keep_ray_on_loopback() -> None:
    """From now on, Ray in this process and in the processes it starts uses 127.0.0.1 as the node IP."""
    os.environ[SINGLE_MACHINE_SWITCH] = "0"  # for Ray imported later here and for every process Ray starts
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:  # Ray was imported before the variable was set
        constants.ENABLE_RAY_CLUSTER = False


PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
REFUSING_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there, so a connection is refused


@contextmanager
def ray_processes_stay_off_the_network() -> Iterator[dict[str, str]]:
    """Ray processes started inside this block send every HTTP(S) request to a refusing proxy on 127.0.0.1.

    Ray 2.60 starts a dashboard process with every head node, also with the dashboard off, and it asks
    the cloud metadata service (169.254.169.254, metadata.google.internal) which cloud it runs on; for a
    cluster not started by ray.init it also tells usage-stats.ray.io that usage stats are off. Those
    requests follow the proxy variables, so they end on 127.0.0.1; Ray's own traffic to 127.0.0.1 is
    exempt (no_proxy). Yields the variables as they were, for the Ray workers (see `worker_proxy_env`).
    """
    before = {name: os.environ.get(name) for name in PROXY_VARS}
    os.environ.update({name: REFUSING_PROXY for name in PROXY_VARS if not name.lower().startswith("no_")})
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = ",".join(LOOPBACK_HOSTS)
    try:
        yield worker_proxy_env(before)
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def worker_proxy_env(values: dict[str, str | None]) -> dict[str, str]:
    """Proxy variables for Ray workers as the user had them (an empty value counts as unset), so the
    workers' LLM requests go where the driver's would, whatever the raylet that starts them inherited."""
    return {name: values.get(name) or "" for name in PROXY_VARS}
