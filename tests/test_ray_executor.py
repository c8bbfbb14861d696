"""The Ray executor on a local cluster of a head and a worker node (this machine, one CPU each, every
Ray socket on 127.0.0.1) runs the example project against the fake server and makes the same records as
the local executor."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import sqlite3
from pathlib import Path

import pytest

from sftgen.store import Store
from sftgen.store.llm_cache import unpacked

ray = pytest.importorskip("ray")

import psutil  # noqa: E402  (a dependency of Ray)
from ray.cluster_utils import Cluster  # noqa: E402

from sftgen.run.executors.ray import RayExecutor  # noqa: E402
from sftgen.run.executors.ray_loopback import (  # noqa: E402
    LOOPBACK, is_loopback_address, keep_ray_on_loopback, ray_processes_stay_off_the_network)
from sftgen.project import Project  # noqa: E402
from sftgen.run.runner import RunOptions, run_project  # noqa: E402
from sftgen.llm.client import LLMUnusable  # noqa: E402
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server  # noqa: E402
from tests.support.projects import example_project  # noqa: E402

pytestmark = pytest.mark.timeout(240)
UNTIL = "profile"  # later steps steer by quotas, so their records depend on the order replies arrive in


def is_loopback_ip(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)  # [::ffff:127.0.0.1], as Ray's gRPC servers show
    return (mapped or address).is_loopback


def sockets_of_this_process_tree() -> list[tuple[str, str, str, str]]:
    """(process name, state, local ip, remote ip) of every TCP socket of this process and its descendants:
    the driver, and every Ray process the test started (GCS, raylets, agents, workers)."""
    found = []
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            name, connections = process.name(), process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for conn in connections:
            found.append((name, conn.status, conn.laddr.ip, conn.raddr.ip if conn.raddr else ""))
    return found


def assert_all_ray_sockets_on_loopback() -> list[tuple[str, str, str, str]]:
    found = sockets_of_this_process_tree()
    off_loopback = [s for s in found if not is_loopback_ip(s[2]) or (s[3] and not is_loopback_ip(s[3]))]
    assert off_loopback == []
    listening = {name for name, status, _, _ in found if status == psutil.CONN_LISTEN}
    assert {"gcs_server", "raylet"} <= listening, listening  # the check saw Ray's own servers
    return found


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    keep_ray_on_loopback()  # as the executor does for a cluster on 127.0.0.1; inherited by every Ray process
    local = Cluster(initialize_head=False)
    try:
        with ray_processes_stay_off_the_network():  # no cloud metadata or usage-stats requests from the nodes
            local.add_node(num_cpus=1, include_dashboard=False, node_ip_address=LOOPBACK)  # the head
            local.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        local.wait_for_nodes()
        ray.init(address=local.address, _node_ip_address=LOOPBACK, include_dashboard=False)
        try:
            nodes = [node["NodeManagerAddress"] for node in ray.nodes() if node["Alive"]]
            assert nodes == [LOOPBACK, LOOPBACK]  # a head and a worker node, both on 127.0.0.1
            assert_all_ray_sockets_on_loopback()  # the driver's connections included
        finally:
            ray.shutdown()
        yield local
    finally:
        if ray.is_initialized():
            ray.shutdown()
        local.shutdown()


def snapshot(project: Path) -> dict[str, list]:
    store = Store(project / ".sftgen" / "store.db")  # its connection reads the metas and texts (store/meta_codec.py, text_codec.py)
    conn = store.conn
    try:
        dictionaries = dict(conn.execute("SELECT id, data FROM llm_cache_dicts"))
        return {
            "records": sorted(tuple(row) for row in conn.execute(
                "SELECT id, kind, text_of(text), meta_text(meta), status, reason FROM records")),
            "progress": sorted(tuple(row) for row in conn.execute(
                "SELECT step, item_id, outcome, reason, n_outputs, llm_requests FROM progress")),
            "emits": sorted(tuple(row) for row in conn.execute("SELECT step, item_id, source_id, active FROM emits")),
            "cache": sorted((key, unpacked(response, dictionaries.__getitem__)["choices"])  # the reply without its timestamp
                            for key, response in conn.execute("SELECT key, response FROM llm_cache")),
        }
    finally:
        store.close()


def run(project: Path, base_url: str, monkeypatch, **options) -> object:
    monkeypatch.setenv("SFTGEN_LLM_PROVIDER", "openai")
    monkeypatch.setenv("SFTGEN_LLM_BASE_URL", base_url)
    monkeypatch.setenv("SFTGEN_LLM_MODEL", "fake-model")
    return asyncio.run(run_project(Project.open(project), RunOptions(until=UNTIL, **options)))


def test_ray_started_by_the_executor_listens_and_dials_on_loopback_only(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    executor = RayExecutor(address=None)  # `sftgen run --executor ray` without --address
    executor.connect()
    try:
        assert [node["NodeManagerAddress"] for node in ray.nodes()] == [LOOPBACK]
        assert_all_ray_sockets_on_loopback()
    finally:
        executor.stop_workers()
    assert not ray.is_initialized()


def test_which_addresses_mean_a_ray_on_this_machine():
    for address in (None, "local", "127.0.0.1:6379", "localhost:6379"):
        assert is_loopback_address(address), address
    for address in ("10.0.0.5:6379", "auto", "ray://127.0.0.1:10001", "head.example:6379"):
        assert not is_loopback_address(address), address
    # and the socket check's idea of loopback: Ray's gRPC servers show IPv4-mapped IPv6 addresses
    assert all(map(is_loopback_ip, ["127.0.0.1", "::ffff:127.0.0.1", "::1"]))
    assert not any(map(is_loopback_ip, ["192.0.2.2", "0.0.0.0", "::", "::ffff:192.0.2.2", "fd00::2"]))


def test_ray_executor_makes_the_same_records_as_the_local_one(cluster, tmp_path, monkeypatch):
    assert is_loopback_address(cluster.address)
    with running_fake_server(FakeServerConfig(latency_ms=5)) as server:
        local_dir, ray_dir = example_project(tmp_path / "local"), example_project(tmp_path / "ray")
        run(local_dir, server.base_url, monkeypatch)
        local_requests = server.stats()["requests"]
        server.reset()
        summary = run(ray_dir, server.base_url, monkeypatch, executor="ray", address=cluster.address)
        ray_requests = server.stats()["requests"]

    assert summary.stopped_by is None
    assert summary.processed.get("chunk_filter", 0) > 0 and summary.processed.get("profile", 0) > 0
    assert ray_requests == local_requests > 0
    local, remote = snapshot(local_dir), snapshot(ray_dir)
    for part in ("records", "progress", "emits", "cache"):
        assert remote[part] == local[part], part
    log = next((ray_dir / ".sftgen" / "logs").glob("run-*.log")).read_text()
    assert "ray: 2 workers" in log  # one per CPU: the head's and the worker node's
    assert not ray.is_initialized()  # the executor disconnects from the cluster it joined
    assert_all_ray_sockets_on_loopback()  # its workers on both nodes included


def test_resume_on_ray_sends_nothing_again(cluster, tmp_path, monkeypatch):
    with running_fake_server(FakeServerConfig(latency_ms=5)) as server:
        project = example_project(tmp_path / "p")
        run(project, server.base_url, monkeypatch, executor="ray", address=cluster.address)
        first = server.stats()["requests"]
        again = run(project, server.base_url, monkeypatch, executor="ray", address=cluster.address)
        assert server.stats()["requests"] == first
    assert sum(again.processed.values()) == 0


def test_a_refusing_llm_stops_a_ray_run_as_it_stops_a_local_one(cluster, tmp_path, monkeypatch):
    refuse = ReplyRule(contains="", status=401, reply="Incorrect API key provided")
    with running_fake_server(FakeServerConfig(rules=[refuse])) as server:
        project = example_project(tmp_path / "p")
        with pytest.raises(LLMUnusable, match="HTTP 401"):
            run(project, server.base_url, monkeypatch, executor="ray", address=cluster.address)
    conn = sqlite3.connect(project / ".sftgen" / "store.db")
    try:
        errors = conn.execute("SELECT COUNT(*) FROM progress WHERE outcome='error'").fetchone()[0]
        outcome = conn.execute("SELECT outcome FROM runs").fetchone()[0]
    finally:
        conn.close()
    assert errors == 0, "no item is an error because the LLM refuses every request"
    assert outcome == "failed"
