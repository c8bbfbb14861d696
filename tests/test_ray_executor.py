"""The Ray executor on a local cluster of a head and a worker node (this machine, one CPU each) runs the
example project against the fake server and makes the same records as the local executor."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from sftgen.project import Project  # noqa: E402
from sftgen.runner import RunOptions, run_project  # noqa: E402
from tests.fakes.fake_openai_server import FakeServerConfig, running_fake_server  # noqa: E402
from tests.support.projects import example_project  # noqa: E402

pytestmark = pytest.mark.timeout(240)
UNTIL = "profile"  # later steps steer by quotas, so their records depend on the order replies arrive in


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray binds to this machine's own address (node_ip_address=127.0.0.1 leaves the head's GCS
    # unreachable in Ray 2.60's Cluster helper); both nodes and the driver stay on this machine.
    local = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    local.add_node(num_cpus=1)
    local.wait_for_nodes()
    try:
        yield local
    finally:
        if ray.is_initialized():
            ray.shutdown()
        local.shutdown()


def snapshot(project: Path) -> dict[str, list]:
    conn = sqlite3.connect(project / ".sftgen" / "store.db")
    try:
        return {
            "records": sorted(conn.execute("SELECT id, kind, text, meta, status, reason FROM records")),
            "progress": sorted(conn.execute("SELECT step, item_id, outcome, reason, n_outputs, llm_requests FROM progress")),
            "emits": sorted(conn.execute("SELECT step, item_id, source_id, active FROM emits")),
            "cache": sorted((key, json.loads(response)["choices"])  # the reply without its timestamp
                            for key, response in conn.execute("SELECT key, response FROM llm_cache")),
        }
    finally:
        conn.close()


def run(project: Path, base_url: str, monkeypatch, **options) -> object:
    monkeypatch.setenv("SFTGEN_LLM_PROVIDER", "openai")
    monkeypatch.setenv("SFTGEN_LLM_BASE_URL", base_url)
    monkeypatch.setenv("SFTGEN_LLM_MODEL", "fake-model")
    return asyncio.run(run_project(Project.open(project), RunOptions(until=UNTIL, **options)))


def test_ray_executor_makes_the_same_records_as_the_local_one(cluster, tmp_path, monkeypatch):
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


def test_resume_on_ray_sends_nothing_again(cluster, tmp_path, monkeypatch):
    with running_fake_server(FakeServerConfig(latency_ms=5)) as server:
        project = example_project(tmp_path / "p")
        run(project, server.base_url, monkeypatch, executor="ray", address=cluster.address)
        first = server.stats()["requests"]
        again = run(project, server.base_url, monkeypatch, executor="ray", address=cluster.address)
        assert server.stats()["requests"] == first
    assert sum(again.processed.values()) == 0
