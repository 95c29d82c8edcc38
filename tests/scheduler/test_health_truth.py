"""Health tells the truth: it proves writes, costs the same at 20,000 queues, hides details on
request, and reports dangerous server settings as "degraded".

All against real redis-server processes: the session server, a replica of it started here,
an ACL user created here, and a private server for the cost measurement.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
import rqjobs
from flask import Flask
from port_for import get_port
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from rqjobs.blueprint import jobs_bp
from rqjobs.health import health_report
from sched_support import run_cli, server_executable

ACL_PASSWORD = "Lim1ted-Secret-4711"


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    app.register_blueprint(jobs_bp)
    return app


def spawn_redis(*extra: str) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server of this test alone (no persistence), answering PING."""
    port = get_port(None)
    proc = subprocess.Popen(
        [server_executable(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--loglevel", "warning", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("redis-server did not start") from None
            time.sleep(0.05)
    client.close()
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def point_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    rqjobs.reset_redis()


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def policy(redis_conn: Any) -> Iterator[Any]:
    """Set the session server's maxmemory-policy; noeviction again afterwards."""
    yield lambda value: redis_conn.config_set("maxmemory-policy", value)
    redis_conn.config_set("maxmemory-policy", "noeviction")


# -- 1. health proves writes ----------------------------------------------------------------


def test_read_only_replica_is_503_readonly(
    rqjobs_env: str, redis_proc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica, port = spawn_redis("--replicaof", "127.0.0.1", str(redis_proc.port))
    try:
        url = f"redis://127.0.0.1:{port}/0"
        point_at(monkeypatch, url)
        status, body = health_report(require_scheduler=False)
        assert status == 503, body
        assert body["status"] == "unhealthy"
        error = body["error"]
        assert "READONLY" in error and "read-only replica" in error, error
        assert "primary" in error  # the fix
        assert "\n" not in error

        response = make_app(RQJOBS_REQUIRE_SCHEDULER=False).test_client().get("/api/jobs/health")
        assert response.status_code == 503
        assert "READONLY" in response.get_json()["error"]
        result = run_cli(url, "health", "--no-scheduler")
        assert result.returncode == 1, result.stdout + result.stderr
    finally:
        stop(replica)


@pytest.mark.parametrize(
    "rules",
    [
        ("+@all", "-evalsha", "-eval", "-evalsha_ro", "-eval_ro"),  # no scripting at all
        ("+@all", "-@write"),  # scripts run, but the SET inside is refused
    ],
    ids=["no-evalsha", "no-write"],
)
def test_acl_user_without_script_or_write_permission_is_503_noperm(
    rqjobs_env: str,
    redis_conn: Any,
    redis_proc: Any,
    monkeypatch: pytest.MonkeyPatch,
    rules: tuple[str, ...],
) -> None:
    redis_conn.execute_command("ACL", "SETUSER", "limited", "on", f">{ACL_PASSWORD}", "~*",
                               "&*", *rules)
    try:
        url = f"redis://limited:{ACL_PASSWORD}@{redis_proc.host}:{redis_proc.port}/0"
        point_at(monkeypatch, url)
        status, body = health_report(require_scheduler=False)
        assert status == 503, body
        assert body["status"] == "unhealthy"
        error = body["error"]
        assert "NOPERM" in error, error
        assert "'limited'" in error and "ACL SETUSER limited" in error  # the cause, the fix
        assert ACL_PASSWORD not in json.dumps(body)
        assert "limited:***@" in error  # the URL, redacted
        response = make_app(RQJOBS_REQUIRE_SCHEDULER=False).test_client().get("/api/jobs/health")
        assert response.status_code == 503
        assert ACL_PASSWORD not in response.get_data(as_text=True)
    finally:
        redis_conn.execute_command("ACL", "DELUSER", "limited")


def test_probe_key_expires_by_itself(rqjobs_env: str, redis_conn: Any) -> None:
    status, _ = health_report(require_scheduler=False)
    assert status == 200
    key = f"rqjobs:health:probe:{socket.gethostname()}:{os.getpid()}"
    assert redis_conn.exists(key)
    assert 0 < redis_conn.pttl(key) <= 10_000


# -- 4. dangerous server settings: degraded, still 200 --------------------------------------


def test_volatile_lru_is_degraded_with_the_reason(rqjobs_env: str, policy: Any) -> None:
    policy("volatile-lru")
    response = make_app(RQJOBS_REQUIRE_SCHEDULER=False).test_client().get("/api/jobs/health")
    assert response.status_code == 200  # still serves: not taken out of rotation
    body = response.get_json()
    assert body["status"] == "degraded"
    (warning,) = body["warnings"]
    assert "maxmemory-policy is volatile-lru" in warning
    assert "dedupe locks" in warning and "redeliveries run twice" in warning
    assert "set noeviction" in warning

    samples = metric_samples(
        make_app().test_client().get("/api/jobs/metrics").get_data(as_text=True)
    )
    assert samples[("rqjobs_server_warning", (("reason", "eviction_policy"),))] == 1
    assert samples[("rqjobs_health_degraded", ())] == 1

    result = run_cli(rqjobs_env, "health", "--no-scheduler", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == "degraded"


def test_allkeys_lru_is_degraded_jobs_may_be_lost(rqjobs_env: str, policy: Any) -> None:
    policy("allkeys-lru")
    status, body = health_report(require_scheduler=False)
    assert status == 200
    assert body["status"] == "degraded"
    (warning,) = body["warnings"]
    assert "maxmemory-policy is allkeys-lru" in warning
    assert "Redis may evict queued jobs: acknowledged events are lost" in warning


def test_noeviction_is_healthy(rqjobs_env: str, policy: Any) -> None:
    policy("noeviction")
    status, body = health_report(require_scheduler=False)
    assert (status, body["status"], body["warnings"]) == (200, "healthy", [])
    samples = metric_samples(
        make_app().test_client().get("/api/jobs/metrics").get_data(as_text=True)
    )
    assert samples[("rqjobs_server_warning", (("reason", "eviction_policy"),))] == 0
    assert samples[("rqjobs_health_degraded", ())] == 0


def test_server_checks_fall_back_to_config_and_tolerate_refusals(
    rqjobs_env: str, redis_conn: Any, redis_proc: Any, policy: Any
) -> None:
    from rqjobs.server_checks import eviction_policy, server_warnings

    policy("volatile-ttl")
    assert eviction_policy(redis_conn) == "volatile-ttl"
    base = f"redis://{{}}:{ACL_PASSWORD}@{redis_proc.host}:{redis_proc.port}/0"
    redis_conn.execute_command("ACL", "SETUSER", "noinfo", "on", f">{ACL_PASSWORD}", "~*", "&*",
                               "+@all", "-info")
    redis_conn.execute_command("ACL", "SETUSER", "nothing", "on", f">{ACL_PASSWORD}", "~*",
                               "&*", "+@all", "-info", "-config")
    try:
        noinfo = redis.Redis.from_url(base.format("noinfo"))
        assert eviction_policy(noinfo) == "volatile-ttl"  # CONFIG GET fallback
        assert [w.reason for w in server_warnings(noinfo)] == ["eviction_policy"]
        nothing = redis.Redis.from_url(base.format("nothing"))
        assert eviction_policy(nothing) is None  # managed Redis refusing both: no warning
        assert server_warnings(nothing) == []
    finally:
        redis_conn.execute_command("ACL", "DELUSER", "noinfo", "nothing")


def test_log_server_warnings_at_start_up(
    redis_conn: Any, policy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from rqjobs.server_checks import log_server_warnings

    logger = logging.getLogger("test.startup")
    policy("volatile-lru")
    with caplog.at_level(logging.INFO, logger="test.startup"):
        found = log_server_warnings(redis_conn, logger)
    assert [w.reason for w in found] == ["eviction_policy"]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "volatile-lru" in warned[0].getMessage()
    assert "redeliveries run twice" in warned[0].getMessage()

    caplog.clear()
    policy("noeviction")
    with caplog.at_level(logging.INFO, logger="test.startup"):
        assert log_server_warnings(redis_conn, logger) == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []

    # Redis down: a start-up is not stopped by the check, and no password is logged.
    port = get_port(None)
    down = redis.Redis.from_url(f"redis://:{ACL_PASSWORD}@127.0.0.1:{port}/0",
                                socket_connect_timeout=0.2)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="test.startup"):
        assert log_server_warnings(down, logger) == []
    assert "Could not check" in caplog.text and ACL_PASSWORD not in caplog.text


def test_overdue_scheduled_job_is_degraded(
    rqjobs_env: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RQJOBS_SCHEDULED_OVERDUE", raising=False)  # 60 s
    late = Queue("late", connection=redis_conn)
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    late.enqueue_at(past, "periodic_app.noop")  # due two hours ago; no RQ scheduler runs
    late.enqueue_in(timedelta(hours=1), "periodic_app.noop")  # not due yet
    # Due 10 s ago: late, but within RQJOBS_SCHEDULED_OVERDUE.
    redis_conn.zadd("rq:scheduled:late", {"recent-job": time.time() - 10})

    response = make_app(RQJOBS_REQUIRE_SCHEDULER=False).test_client().get("/api/jobs/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["scheduled_overdue"] == {"late": 1}
    assert body["totals"]["scheduled_overdue"] == 1
    assert body["queues"]["late"]["scheduled"] == 3
    (warning,) = body["warnings"]
    assert "1 scheduled job is overdue by more than 60s (late: 1)" in warning
    assert "--with-scheduler" in warning

    samples = metric_samples(
        make_app().test_client().get("/api/jobs/metrics").get_data(as_text=True)
    )
    assert samples[("rq_scheduled_overdue", (("queue", "late"),))] == 1
    assert samples[("rqjobs_health_degraded", ())] == 1

    # Once nothing is overdue any more, healthy again.
    assert redis_conn.zremrangebyscore("rq:scheduled:late", "-inf", time.time() - 60) == 1
    status, body = health_report(require_scheduler=False)
    assert (status, body["status"]) == (200, "healthy")


# -- 2. bounded cost ------------------------------------------------------------------------


def _total_calls(client: Any) -> int:
    stats = client.info("commandstats")
    return sum(int(value["calls"]) for value in stats.values())


def _report(monkeypatch: pytest.MonkeyPatch, url: str) -> dict[str, Any]:
    monkeypatch.setenv("REDIS_URL", url)  # each URL has its own cached health client
    status, body = health_report(require_scheduler=False)
    assert status == 200, body
    return body


def _commands_per_call(
    client: Any, monkeypatch: pytest.MonkeyPatch, url: str, calls: int = 10
) -> float:
    """Commands the server executed per health call (``INFO commandstats`` before/after)."""
    _report(monkeypatch, url)  # warm: connection, SCRIPT LOAD
    before = _total_calls(client)
    assert _total_calls(client) - before == 1  # the baseline: only the INFO itself
    before = _total_calls(client)
    for _ in range(calls):
        _report(monkeypatch, url)
    sent = _total_calls(client) - before - 1  # minus the INFO of `before`
    assert sent % calls == 0, sent
    return sent / calls


def _interleaved_medians(
    monkeypatch: pytest.MonkeyPatch, urls: list[str], calls: int
) -> list[float]:
    """Median wall time of ``calls`` health reports per URL, the URLs taking turns (so that
    a busy machine slows every case alike)."""
    times: list[list[float]] = [[] for _ in urls]
    for url in urls:
        _report(monkeypatch, url)
    for _ in range(calls):
        for index, url in enumerate(urls):
            monkeypatch.setenv("REDIS_URL", url)
            started = time.perf_counter()
            status, _ = health_report(require_scheduler=False)
            times[index].append(time.perf_counter() - started)
            assert status == 200
    return [statistics.median(column) for column in times]


def _add_queues(client: Any, first: int, last: int) -> None:
    pipe = client.pipeline(transaction=False)
    for number in range(first, last):
        pipe.sadd("rq:queues", f"rq:queue:q{number:05d}")
        if number % 1000 == 0:
            pipe.execute()
    pipe.execute()


def test_cost_does_not_grow_with_the_number_of_queues(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Database 0 has 10 queue names, database 1 has 20,000 (same server, same jobs)."""
    server, port = spawn_redis()
    client = redis.Redis(port=port)
    small_url, large_url = f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/1"
    try:
        rqjobs.reset_redis()
        for name in ("RQJOBS_QUEUES", "RQJOBS_HEALTH_DETAILS", "RQJOBS_HEALTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("RQJOBS_HEALTH_MAX_QUEUES", "10")
        for db, count in ((0, 10), (1, 20_000)):
            conn = redis.Redis(port=port, db=db)
            _add_queues(conn, 0, count)
            for number in range(3):  # a few real jobs
                Queue(f"q{number:05d}", connection=conn).enqueue("periodic_app.noop")
            assert conn.scard("rq:queues") == count
            conn.close()

        small = _report(monkeypatch, small_url)
        assert small["queue_summary"] == {"total": 10, "listed": 10, "truncated": False,
                                          "source": "rq:queues"}
        assert small["totals"]["queued"] == 3
        large = _report(monkeypatch, large_url)
        assert large["queue_summary"] == {"total": 20_000, "listed": 10, "truncated": True,
                                          "source": "rq:queues"}
        assert len(large["queues"]) == 10

        small_cmds = _commands_per_call(client, monkeypatch, small_url)
        large_cmds = _commands_per_call(client, monkeypatch, large_url)
        small_time, large_time = _interleaved_medians(monkeypatch, [small_url, large_url], 20)

        monkeypatch.delenv("RQJOBS_HEALTH_MAX_QUEUES")  # the default cap, 50
        assert _report(monkeypatch, large_url)["queue_summary"]["listed"] == 50
        default_cmds = _commands_per_call(client, monkeypatch, large_url)
        (default_time,) = _interleaved_medians(monkeypatch, [large_url], 20)
        with capsys.disabled():
            print(
                f"\nhealth median of 20 calls (RQJOBS_HEALTH_MAX_QUEUES=10): 10 queues "
                f"{small_time * 1000:.3f} ms, 20,000 queues {large_time * 1000:.3f} ms; "
                f"commands per call {small_cmds:g} and {large_cmds:g}. 20,000 queues with the "
                f"default cap 50: {default_time * 1000:.3f} ms, {default_cmds:g} commands"
            )
        assert large_cmds == small_cmds
        assert default_cmds == small_cmds + 40 * 8  # 8 commands per listed queue, no more
        assert large_time <= 2 * small_time, (small_time, large_time)
    finally:
        client.close()
        rqjobs.reset_redis()
        stop(server)


def test_requested_queues_and_allow_list_are_reported_without_scanning(
    rqjobs_env: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_queues(redis_conn, 0, 300)
    status, body = health_report(["q00007", "never-used"], require_scheduler=False)
    assert status == 200
    assert sorted(body["queues"]) == ["never-used", "q00007"]
    assert body["queue_summary"] == {"total": 300, "listed": 2, "truncated": False,
                                     "source": "requested"}
    monkeypatch.setenv("RQJOBS_QUEUES", "q00001,q00002")
    status, body = health_report(require_scheduler=False)
    assert sorted(body["queues"]) == ["q00001", "q00002"]
    assert body["queue_summary"]["source"] == "allow-list"
    monkeypatch.delenv("RQJOBS_QUEUES")
    status, body = health_report(require_scheduler=False)
    assert len(body["queues"]) == 50  # RQJOBS_HEALTH_MAX_QUEUES
    assert body["queue_summary"] == {"total": 300, "listed": 50, "truncated": True,
                                     "source": "rq:queues"}


# -- 3. details can be hidden ---------------------------------------------------------------


def _with_scheduler_record_and_a_secret_queue(redis_conn: Any) -> str:
    from rqjobs.scheduler import Scheduler

    Scheduler(rqjobs.Schedule(), tick=15).run_cycle()
    queue = Queue("secret-queue-xyz", connection=redis_conn)
    queue.enqueue("periodic_app.noop")
    queue.enqueue_at(datetime.now(timezone.utc) - timedelta(hours=1), "periodic_app.noop")
    holder = redis_conn.hget("rqjobs:scheduler:health", "holder").decode()
    assert holder.split(":")[1] == str(os.getpid())
    return holder


def test_details_hidden_with_health_details_0(
    rqjobs_env: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = _with_scheduler_record_and_a_secret_queue(redis_conn)
    monkeypatch.setenv("RQJOBS_HEALTH_DETAILS", "0")
    response = make_app().test_client().get("/api/jobs/health")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    body = response.get_json()
    assert "queues" not in body and "scheduled_overdue" not in body
    assert "holder" not in body["scheduler"]
    assert "secret-queue-xyz" not in text
    assert holder not in text and socket.gethostname() not in text
    # Aggregates and the status stay.
    assert body["details"] is False
    assert body["status"] == "degraded"  # the overdue job, without naming its queue
    assert body["totals"]["queued"] == 1 and body["totals"]["scheduled_overdue"] == 1
    assert body["queue_summary"]["total"] == 1
    assert body["scheduler"]["healthy"] is True and body["scheduler"]["lock_held"] is True

    # The default (neither setting) keeps today's details.
    monkeypatch.delenv("RQJOBS_HEALTH_DETAILS")
    body = make_app().test_client().get("/api/jobs/health").get_json()
    assert body["queues"]["secret-queue-xyz"]["queued"] == 1
    assert body["scheduler"]["holder"] == holder


def test_details_only_with_the_token(
    rqjobs_env: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = _with_scheduler_record_and_a_secret_queue(redis_conn)
    monkeypatch.setenv("RQJOBS_HEALTH_TOKEN", "t0ken-for-health")
    client = make_app().test_client()
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"X-Health-Token": "t0ken-for-health-not"},
        {"Authorization": "Basic t0ken-for-health"},
    ):
        response = client.get("/api/jobs/health", headers=headers)
        assert response.status_code == 200, headers
        text = response.get_data(as_text=True)
        assert "secret-queue-xyz" not in text and holder not in text, headers
        assert response.get_json()["details"] is False
    for headers in (
        {"Authorization": "Bearer t0ken-for-health"},
        {"X-Health-Token": "t0ken-for-health"},
    ):
        body = client.get("/api/jobs/health", headers=headers).get_json()
        assert body["queues"]["secret-queue-xyz"]["queued"] == 1, headers
        assert body["scheduler"]["holder"] == holder
    # Without Flask: the token, or details decided by the caller.
    assert "queues" not in health_report()[1]
    assert "queues" in health_report(token="t0ken-for-health")[1]
    assert "queues" in health_report(details=True)[1]

