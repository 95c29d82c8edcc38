"""The health and metrics endpoints through a real Flask app, real workers and schedulers."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from typing import Any

import pytest
import rqjobs
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from rqjobs.blueprint import jobs_bp
from rqjobs.roles import RoleViolation
from sched_support import PASSWORD, SchedulerFleet, run_cli

STATUSES = ("queued", "started", "finished", "failed", "deferred", "scheduled", "canceled")


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    app.register_blueprint(jobs_bp)
    return app


def direct_counts(conn: Any, name: str) -> dict[str, int]:
    """What RQ itself says, through its registries (``count`` runs RQ's cleanup first)."""
    queue = Queue(name, connection=conn)
    return {
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "finished": queue.finished_job_registry.count,
        "failed": queue.failed_job_registry.count,
        "deferred": queue.deferred_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "canceled": queue.canceled_job_registry.count,
    }


def wait_for_tick(conn: Any, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if conn.hget("rqjobs:scheduler:health", "last_tick"):
            return
        time.sleep(0.05)
    raise AssertionError("no scheduler tick recorded")


def test_health_numbers_equal_rq_registries_after_real_jobs(
    rqjobs_env: str, redis_conn: Any, fleet: SchedulerFleet
) -> None:
    scheduler = fleet.start("periodic_app:every_second", 1)
    for _ in range(3):
        rqjobs.enqueue("hq", "periodic_app.noop")
    for _ in range(2):
        rqjobs.enqueue("hq", "periodic_app.fail")
    queue = rqjobs.get_queue("hq")
    later = [queue.enqueue_in(timedelta(hours=1), "periodic_app.noop") for _ in range(2)]
    rqjobs.enqueue("hq", "periodic_app.noop", depends_on=later[0])  # deferred
    rqjobs.enqueue("hq", "periodic_app.noop").cancel()  # canceled

    done = run_cli(rqjobs_env, "worker", "hq", "--burst")
    assert done.returncode == 0, done.stderr
    for _ in range(2):
        rqjobs.enqueue("hq", "periodic_app.noop")
    fleet.wait_started(scheduler)
    wait_for_tick(redis_conn)

    client = make_app().test_client()
    first = client.get("/api/jobs/health")
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "healthy"
    assert set(body["queues"]["hq"]) == set(STATUSES)
    expected = {"queued": 2, "started": 0, "finished": 3, "failed": 2, "deferred": 1,
                "scheduled": 2, "canceled": 1}
    assert direct_counts(redis_conn, "hq") == expected
    assert body["queues"]["hq"] == expected

    sched = body["scheduler"]
    assert sched["healthy"] is True
    assert sched["lock_held"] is True
    assert 0 < sched["lock_ttl"] <= 90
    assert sched["holder"].split(":")[1] == str(scheduler.pid)
    time.sleep(2.2)
    later_body = client.get("/api/jobs/health").get_json()
    assert later_body["scheduler"]["last_tick"] > sched["last_tick"]  # ISO UTC sorts by time


def test_503_when_redis_is_stopped_fast_and_without_password(own_redis: Any) -> None:
    client = make_app(RQJOBS_REQUIRE_SCHEDULER=False).test_client()
    assert client.get("/api/jobs/health").status_code == 200
    own_redis.stop()
    started = time.monotonic()
    response = client.get("/api/jobs/health")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy"
    assert "unreachable" in body["error"]
    assert PASSWORD not in response.get_data(as_text=True)
    # An orchestrator's probe must not time out (a loose bound; speed lives in bench/).
    assert elapsed < 3.0, elapsed

    import os

    result = run_cli(os.environ["REDIS_URL"], "health", "--json")
    assert result.returncode == 1
    assert PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().startswith("{")

    metrics = client.get("/api/jobs/metrics")
    assert metrics.status_code == 200
    assert "rqjobs_redis_up 0.0" in metrics.get_data(as_text=True)


def test_503_within_about_a_second_when_redis_hangs(own_redis: Any) -> None:
    """A frozen server (SIGSTOP: connections open, nothing answers) hits the read timeout."""
    import os

    client = make_app(RQJOBS_REQUIRE_SCHEDULER=False).test_client()
    assert client.get("/api/jobs/health").status_code == 200
    pid = own_redis.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = client.get("/api/jobs/health")
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert response.status_code == 503
    assert "Timeout" in response.get_json()["error"]
    assert PASSWORD not in response.get_data(as_text=True)
    assert elapsed < 3.0, elapsed


def test_wrong_password_is_503_and_not_echoed(
    own_redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-Pa55word-xyz"
    monkeypatch.setenv("REDIS_URL", f"redis://:{wrong}@{own_redis.host}:{own_redis.port}/0")
    rqjobs.reset_redis()
    response = make_app().test_client().get("/api/jobs/health")
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert wrong not in text and PASSWORD not in text
    assert "***" in response.get_json()["error"]


@pytest.mark.smoke
def test_503_when_scheduler_is_stale(
    rqjobs_env: str, redis_conn: Any, fleet: SchedulerFleet
) -> None:
    client = make_app().test_client()
    never = client.get("/api/jobs/health")
    assert never.status_code == 503
    assert "no scheduler has ever ticked" in never.get_json()["error"]

    item = fleet.start("periodic_app:every_second", 1)
    fleet.wait_started(item)
    wait_for_tick(redis_conn)
    assert client.get("/api/jobs/health").status_code == 200
    item.kill(signal.SIGKILL)
    item.wait()
    time.sleep(3.2)  # more than two 1 s ticks without a cycle
    stale = client.get("/api/jobs/health")
    assert stale.status_code == 503
    body = stale.get_json()
    assert body["status"] == "unhealthy"
    assert "stale" in body["error"]
    assert body["scheduler"]["healthy"] is False
    assert body["scheduler"]["lock_held"] is False
    assert body["scheduler"]["seconds_since_last_tick"] > 2
    # A deployment without a scheduler can opt out.
    relaxed = make_app(RQJOBS_REQUIRE_SCHEDULER=False).test_client().get("/api/jobs/health")
    assert relaxed.status_code == 200


def test_metrics_match_stats_and_counters(rqjobs_env: str, redis_conn: Any) -> None:
    for event in ("a", "b", "a", "c", "a"):
        rqjobs.enqueue_with_dedupe("mq", "periodic_app.noop", dedupe_key=f"evt:{event}")
    rqjobs.enqueue("other", "periodic_app.noop")
    from rqjobs.lock import cycle_lock_key
    from rqjobs.scheduler import Scheduler

    sched = Scheduler(rqjobs.Schedule(), tick=15)
    sched.run_cycle()

    response = make_app().test_client().get("/api/jobs/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    stats = rqjobs.get_queue_stats()
    for queue, counts in stats.items():
        for status, count in counts.items():
            assert samples[("rq_jobs", (("queue", queue), ("status", status)))] == count
    assert samples[("rq_jobs", (("queue", "mq"), ("status", "queued")))] == 3
    assert samples[("rqjobs_enqueued_total", (("queue", "mq"),))] == 3
    assert samples[("rqjobs_dedupe_hits_total", (("queue", "mq"),))] == 2
    assert samples[("rqjobs_enqueued_total", (("queue", "other"),))] == 1
    assert samples[("rqjobs_redis_up", ())] == 1
    assert samples[("rqjobs_scheduler_lock_held", ())] == 1
    assert samples[("rqjobs_scheduler_healthy", ())] == 1
    assert abs(samples[("rqjobs_scheduler_last_tick_timestamp", ())] - time.time()) < 30
    assert samples[("rqjobs_queue_oldest_job_age_seconds", (("queue", "mq"),))] >= 0
    assert redis_conn.exists(cycle_lock_key(int(time.time() // 15)))


def test_oldest_job_age_metric(rqjobs_env: str, redis_conn: Any) -> None:
    rqjobs.enqueue("aged", "periodic_app.noop")
    time.sleep(1.1)
    rqjobs.enqueue("aged", "periodic_app.noop")
    from rqjobs.metrics import oldest_job_ages

    ages = oldest_job_ages(redis_conn, ["aged", "empty"], time.time())
    assert ages["aged"] >= 1.0
    assert ages["empty"] == 0.0


def test_blueprint_refused_in_roles_without_blueprints(
    rqjobs_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICE_ROLE", "worker")
    with pytest.raises(RoleViolation, match="worker"):
        make_app()
    monkeypatch.setenv("SERVICE_ROLE", "api")
    assert make_app().url_map.bind("localhost").match("/api/jobs/health")


def test_health_report_is_framework_neutral(rqjobs_env: str) -> None:
    status, body = rqjobs.health_report(require_scheduler=False)
    assert status == 200
    assert body["status"] == "healthy"
    assert set(body) == {
        "queues", "scheduler", "status", "warnings", "queue_summary", "totals", "details",
        "scheduled_overdue",
    }
    assert body["warnings"] == [] and body["details"] is True
    assert set(body["scheduler"]) >= {
        "last_tick", "lock_held", "lock_ttl", "holder", "seconds_since_last_tick", "healthy",
    }


def test_worker_metrics_use_rq_exporter_names(rqjobs_env: str, redis_conn: Any) -> None:
    import subprocess

    from sched_support import HERE, RQJOBS, subprocess_env

    rqjobs.enqueue("wq", "periodic_app.noop")
    rqjobs.enqueue("wq", "periodic_app.fail")
    worker = subprocess.Popen(
        [RQJOBS, "worker", "wq", "--name", "metrics-worker"],
        env=subprocess_env(rqjobs_env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=str(HERE),
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline and redis_conn.zcard("rq:failed:wq") < 1:
            time.sleep(0.1)
        while time.time() < deadline and redis_conn.zcard("rq:finished:wq") < 1:
            time.sleep(0.1)
        time.sleep(0.3)
        text = make_app().test_client().get("/api/jobs/metrics").get_data(as_text=True)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    labels = (("name", "metrics-worker"), ("queues", "wq"))
    assert samples[("rq_workers", (*labels, ("state", "idle")))] == 1
    assert samples[("rq_workers_success_total", labels)] == 1
    assert samples[("rq_workers_failed_total", labels)] == 1
    assert samples[("rq_workers_working_time_total", labels)] >= 0
