"""``redis+sentinel://`` against real sentinels: the CLI, health, WAIT, promotions.

A real deployment on loopback (see :mod:`sentinel_support`): one primary, two replicas
behind freezable proxies, three sentinels (quorum 2, down-after 1 s). The module's
cluster is shared by the tests in file order; the SIGKILL test builds its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rqjobs  # noqa: E402
from rqjobs.errors import RedisUnavailable, ReplicationTimeout  # noqa: E402
from rqjobs.replication import require_replicas  # noqa: E402
from sentinel_support import (  # noqa: E402
    DOWN_AFTER_MS,
    HERE,
    SentinelCluster,
    read_lines,
    wait_until,
)

RQJOBS_CLI = str(Path(sys.executable).with_name("rqjobs"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    deployment = SentinelCluster(tmp_path_factory.mktemp("sentinel")).start()
    yield deployment
    deployment.stop()


@pytest.fixture
def sentinel_env(cluster: SentinelCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = cluster.url()
    monkeypatch.setenv("REDIS_URL", url)
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER", "RQJOBS_MIN_REPLICAS"):
        monkeypatch.delenv(name, raising=False)
    rqjobs.reset_redis()
    cluster.client(cluster.master_port).flushall()
    yield url
    rqjobs.reset_redis()


def _cli(args: list[str], url: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, REDIS_URL=url, PYTHONPATH=str(HERE), **env)
    full_env.pop("SERVICE_ROLE", None)
    return subprocess.run(
        [RQJOBS_CLI, *args],
        cwd=str(HERE),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_enqueue_and_worker_through_a_sentinel_url(
    sentinel_env: str, cluster: SentinelCluster, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.jsonl"
    job = rqjobs.enqueue_with_dedupe(
        "storm", "sentinel_support.record_run", "one", str(runs), dedupe_key="cli:one"
    )
    assert job is not None
    assert rqjobs.enqueue("storm", "sentinel_support.record_run", "two", str(runs)) is not None
    primary = cluster.client(cluster.master_port)
    assert primary.llen("rq:queue:storm") == 2
    done = _cli(["worker", "--burst", "storm"], sentinel_env)
    assert done.returncode == 0, done.stderr
    assert sorted(row["event"] for row in read_lines(runs)) == ["one", "two"]


def test_health_stats_and_metrics_with_a_sentinel_url(
    sentinel_env: str, cluster: SentinelCluster
) -> None:
    rqjobs.enqueue("storm", "sentinel_support.record_run", "x", os.devnull)
    health = _cli(["health", "--json", "--no-scheduler"], sentinel_env)
    assert health.returncode == 0, health.stderr
    body = json.loads(health.stdout)
    report = body["sentinel"]
    assert report["master"] == f"127.0.0.1:{cluster.master_port}"
    assert report["connected_to"] == report["master"]
    assert (report["reachable"], report["configured"], report["agree"]) == (3, 3, True)
    assert all(entry["reachable"] for entry in report["sentinels"])
    stats = _cli(["stats", "--json"], sentinel_env)
    assert stats.returncode == 0, stats.stderr
    assert "storm" in stats.stdout
    from rqjobs.metrics import metrics_registry, render_metrics

    metrics, _ = render_metrics(metrics_registry())
    assert b'queue="storm"' in metrics
    # The health endpoint without details names no host.
    status, hidden = rqjobs.health_report(require_scheduler=False, details=False)
    assert status == 200
    assert set(hidden["sentinel"]) == {"service", "reachable", "configured", "agree"}
    assert "127.0.0.1" not in json.dumps(hidden)


def test_a_forked_child_uses_its_own_sentinel_connections(sentinel_env: str) -> None:
    held = rqjobs.get_redis()
    held.set("fork:parent", "1")
    pid = os.fork()
    if pid == 0:  # the child: the held client and a fresh get_redis() both work
        code = 1
        try:
            held.set("fork:child", "1")
            rqjobs.get_redis().incr("fork:count")
            code = 0 if rqjobs.get_redis() is not held else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert held.get("fork:child") == b"1" and held.get("fork:count") == b"1"
    assert held.ping()  # the parent's connections were left alone


def test_replica_acknowledged_enqueue(sentinel_env: str, cluster: SentinelCluster) -> None:
    with require_replicas(2, timeout_ms=1000):
        job = rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="ack:1")
        assert job is not None
        assert rqjobs.enqueue("storm", "os.getpid") is not None
        assert rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="ack:1") is None
    for port in cluster.replica_ports:  # acknowledged: both replicas hold it already
        assert cluster.client(port).exists("job_lock:ack:1") == 1
    with require_replicas(3, timeout_ms=200):  # only two replicas exist
        started = time.monotonic()
        with pytest.raises(ReplicationTimeout) as info:
            rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="ack:2")
        assert time.monotonic() - started < 2
    error = info.value
    assert isinstance(error, RedisUnavailable)
    assert (error.acknowledged, error.required) == (2, 3)
    assert "only 2 of 3 replica(s) acknowledged" in str(error)
    assert "may not survive a failover" in str(error)


def test_replica_ack_times_out_while_the_links_are_cut(
    sentinel_env: str, cluster: SentinelCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQJOBS_MIN_REPLICAS", "1")
    monkeypatch.setenv("RQJOBS_REPLICA_TIMEOUT_MS", "300")
    assert rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="cut:0") is not None
    cluster.freeze_replication()
    try:
        started = time.monotonic()
        with pytest.raises(ReplicationTimeout, match="only 0 of 1 replica"):
            rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="cut:1")
        assert 0.25 < time.monotonic() - started < 2
    finally:
        for proxy in cluster.proxies:
            proxy.thaw()
    # The provider's re-send: the write survived, so it is a duplicate, now acknowledged.
    assert rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="cut:1") is None
    monkeypatch.setenv("RQJOBS_MIN_REPLICAS", "0")
    with require_replicas(0):
        assert rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="cut:2") is not None


def test_manual_failover_is_followed_without_an_error(
    sentinel_env: str, cluster: SentinelCluster
) -> None:
    """``SENTINEL FAILOVER``: the old master turns replica (READONLY); redis-py closes the
    connection, the retry rediscovers the master, the call succeeds."""
    client = rqjobs.get_redis()
    assert rqjobs.enqueue("storm", "os.getpid") is not None
    old = client.connection_pool.master_address
    cluster.client(cluster.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", "mymaster")
    wait_until(lambda: cluster.master_address() not in (None, old), 20, "the manual failover", 0.05)
    new = cluster.master_address()
    assert new is not None
    wait_until(
        lambda: cluster.client(old[1]).info("replication")["role"] == "slave",
        20,
        "the old master to become a replica",
    )
    job = rqjobs.enqueue("storm", "os.getpid")  # first write after: READONLY, then the new one
    assert client.connection_pool.master_address == new
    assert cluster.client(new[1]).exists(job.key) == 1
    cluster.master_port = new[1]


def test_sigkill_of_the_primary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Enqueues resume within down-after + promotion + one deadline; health then reports
    the new master, and a sentinel that is down."""
    deployment = SentinelCluster(tmp_path / "cluster").start()
    try:
        monkeypatch.setenv("REDIS_URL", deployment.url())
        monkeypatch.delenv("SERVICE_ROLE", raising=False)
        monkeypatch.delenv("RQJOBS_MIN_REPLICAS", raising=False)
        rqjobs.reset_redis()
        assert rqjobs.enqueue("storm", "os.getpid") is not None
        killed_at = deployment.kill_primary()
        errors = 0
        while True:
            try:
                rqjobs.enqueue_with_dedupe("storm", "os.getpid", dedupe_key="after-kill")
                break
            except RedisUnavailable:
                errors += 1
                assert time.time() - killed_at < 30, "enqueues never resumed"
                time.sleep(0.05)
        resumed = time.time() - killed_at
        promoted_at = deployment.wait_promotion()
        deadline = 10.0
        assert resumed <= DOWN_AFTER_MS / 1000 + (promoted_at - killed_at) + deadline
        print(f"\nSIGKILL: resumed after {resumed:.2f}s, {errors} failed call(s)")
        status, body = rqjobs.health_report(require_scheduler=False)
        assert status == 200, body
        assert body["sentinel"]["master"] == f"127.0.0.1:{deployment.master_port}"
        # One sentinel down: still healthy enough to serve, but degraded with a warning.
        deployment.procs["sentinel2"].kill()
        deployment.procs["sentinel2"].wait(10)
        status, body = rqjobs.health_report(require_scheduler=False)
        assert status == 200 and body["status"] == "degraded"
        assert body["sentinel"]["reachable"] == 2
        assert any("only 2 of 3 sentinels answer" in w for w in body["warnings"])
    finally:
        rqjobs.reset_redis()
        deployment.stop()
