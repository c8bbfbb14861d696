"""How busy the shared machine was while a run ran: all cores' busy time from /proc/stat, the fake server's
own CPU, and the load average, so a wall time can be read against what else was running."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Snapshot:
    at: float
    busy_s: float
    server_cpu_s: float
    load: tuple[float, float, float]


def machine_busy_s() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS


def process_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def snapshot(server_pid: int) -> Snapshot:
    return Snapshot(time.perf_counter(), machine_busy_s(), process_cpu_s(server_pid), os.getloadavg())


def load_between(before: Snapshot, after: Snapshot, own_cpu_s: float) -> dict[str, float]:
    """Cores in use on average, and the core-seconds used by others than the measured process and the
    fake server (other helpers, py-spy when profiling, the bench itself)."""
    wall = max(1e-9, after.at - before.at)
    busy = after.busy_s - before.busy_s
    server = after.server_cpu_s - before.server_cpu_s
    return {"wall_s": wall, "cores_busy": busy / wall, "server_cpu_s": server,
            "others_cpu_s": max(0.0, busy - server - own_cpu_s),
            "others_cores": max(0.0, busy - server - own_cpu_s) / wall,
            "cores": os.cpu_count() or 1, "load_after": after.load[0]}
