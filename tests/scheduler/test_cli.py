"""The ``rqjobs`` command in subprocesses: exit codes, role refusals, one-line errors."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest
import rqjobs
from sched_support import SchedulerFleet, run_cli


def assert_one_line_error(result: Any, *fragments: str) -> None:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rqjobs: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_health_json_shape_and_exit_codes(
    rqjobs_env: str, redis_conn: Any, fleet: SchedulerFleet
) -> None:
    unhealthy = run_cli(rqjobs_env, "health", "--json")
    assert unhealthy.returncode == 1
    body = json.loads(unhealthy.stdout)
    assert body["status"] == "unhealthy" and "no scheduler" in body["error"]
    assert run_cli(rqjobs_env, "health", "--no-scheduler").returncode == 0

    item = fleet.start("periodic_app:every_second", 1)
    fleet.wait_started(item)
    deadline = 50
    while not item.locks() and deadline:
        import time

        time.sleep(0.1)
        deadline -= 1
    healthy = run_cli(rqjobs_env, "health", "--json")
    assert healthy.returncode == 0, healthy.stdout
    body = json.loads(healthy.stdout)
    assert set(body) == {
        "queues", "scheduler", "status", "warnings", "queue_summary", "totals", "details",
        "scheduled_overdue",
    }
    assert body["status"] == "healthy"
    assert set(body["scheduler"]) >= {
        "last_tick", "lock_held", "lock_ttl", "holder", "seconds_since_last_tick", "healthy",
    }
    assert body["scheduler"]["holder"].split(":")[1] == str(item.pid)
    for counts in body["queues"].values():
        assert set(counts) == {
            "queued", "started", "finished", "failed", "deferred", "scheduled", "canceled",
        }
    text = run_cli(rqjobs_env, "health")
    assert text.returncode == 0 and "status: healthy" in text.stdout
    item.kill(signal.SIGTERM)
    assert item.wait() == 0


def test_health_with_redis_down_is_one_line_exit_1() -> None:
    result = run_cli("redis://:hunter2-secret@127.0.0.1:1/0", "health")
    assert result.returncode == 1
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert "status: unhealthy" in result.stdout
    stats = run_cli("redis://:hunter2-secret@127.0.0.1:1/0", "stats")
    assert stats.returncode == 1
    assert "hunter2-secret" not in stats.stdout + stats.stderr
    assert_one_line_error(stats)


@pytest.mark.parametrize(
    ("role", "command", "allowed"),
    [
        ("api", ["worker", "--burst"], "worker, all"),
        ("scheduler", ["worker", "--burst"], "worker, all"),
        ("api", ["scheduler", "--schedule", "periodic_app:every_second"], "scheduler, all"),
        ("worker", ["scheduler", "--schedule", "periodic_app:every_second"], "scheduler, all"),
        ("calls", ["scheduler", "--schedule", "periodic_app:every_second"], "scheduler, all"),
    ],
)
def test_role_refusals(rqjobs_env: str, role: str, command: list[str], allowed: str) -> None:
    result = run_cli(rqjobs_env, *command, SERVICE_ROLE=role)
    assert result.returncode == 2
    assert_one_line_error(result, f"SERVICE_ROLE='{role}' does not allow", allowed)


def test_bad_service_role(rqjobs_env: str) -> None:
    result = run_cli(rqjobs_env, "role", SERVICE_ROLE="webserver")
    assert result.returncode == 2
    assert_one_line_error(result, "'webserver'", "api, worker, scheduler, calls, all")


def test_role_command(rqjobs_env: str) -> None:
    result = run_cli(rqjobs_env, "role", "--json", SERVICE_ROLE="worker")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"role": "worker", "capabilities": ["worker"]}
    text = run_cli(rqjobs_env, "role", SERVICE_ROLE="api")
    assert text.stdout.splitlines()[0] == "api"
    assert "refused:" in text.stdout and "scheduler" in text.stdout


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("periodic_app:bad_interval", "periodic job 'zero'"),
        ("periodic_app:bad_cron", "periodic job 'nightly'"),
        ("periodic_app:bad_function", "periodic job 'ghost'"),
        ("periodic_app:duplicate_names", "periodic job 'same'"),
        ("periodic_app:nope", "has no 'nope'"),
        ("not_a_module_xyz:s", "cannot import"),
    ],
)
def test_bad_schedule_fails_at_start_up(
    rqjobs_env: str, redis_conn: Any, spec: str, fragment: str
) -> None:
    result = run_cli(rqjobs_env, "scheduler", "--schedule", spec, "--tick", "1")
    assert result.returncode == 2
    assert_one_line_error(result, "bad schedule", fragment)
    assert redis_conn.keys("rqjobs:scheduler:*") == []


def test_usage_errors_and_help(rqjobs_env: str) -> None:
    for command in ([], ["worker"], ["scheduler"], ["health"], ["stats"], ["role"]):
        shown = run_cli(rqjobs_env, *command, "--help")
        assert shown.returncode == 0
        assert "usage: rqjobs" in shown.stdout
    missing = run_cli(rqjobs_env, "scheduler")
    assert missing.returncode == 2
    assert_one_line_error(missing, "--schedule")
    bad_tick = run_cli(
        rqjobs_env, "scheduler", "--schedule", "periodic_app:every_second", "--tick", "0"
    )
    assert bad_tick.returncode == 2
    assert_one_line_error(bad_tick, "--tick")
    assert run_cli(rqjobs_env, "frobnicate").returncode == 2


def test_stats_table_and_json(rqjobs_env: str) -> None:
    for _ in range(3):
        rqjobs.enqueue("emails", "periodic_app.noop")
    table = run_cli(rqjobs_env, "stats")
    assert table.returncode == 0
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == [
        "queue", "queued", "started", "finished", "failed", "deferred", "scheduled", "canceled",
    ]
    assert row.split() == ["emails", "3", "0", "0", "0", "0", "0", "0"]
    as_json = run_cli(rqjobs_env, "stats", "--json", "emails")
    assert json.loads(as_json.stdout)["emails"]["queued"] == 3


def test_stats_watch_refreshes(rqjobs_env: str) -> None:
    import subprocess
    import time

    from sched_support import HERE, RQJOBS, subprocess_env

    rqjobs.enqueue("watched", "periodic_app.noop")
    proc = subprocess.Popen(
        [RQJOBS, "stats", "--json", "--watch", "--interval", "0.2", "watched"],
        env=subprocess_env(rqjobs_env),
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(HERE),
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    rqjobs.enqueue("watched", "periodic_app.noop")
    time.sleep(0.5)
    second = json.loads(proc.stdout.readline())
    third = json.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    assert first["watched"]["queued"] == 1
    assert max(second["watched"]["queued"], third["watched"]["queued"]) == 2


def test_worker_runs_jobs_with_the_wrapper_serializer(rqjobs_env: str, redis_conn: Any) -> None:
    import os

    os.environ["RQJOBS_SERIALIZER"] = "json"
    try:
        rqjobs.reset_redis()
        job = rqjobs.enqueue("jsonq", "periodic_app.noop", 1, two=2)
    finally:
        del os.environ["RQJOBS_SERIALIZER"]
        rqjobs.reset_redis()
    result = run_cli(rqjobs_env, "worker", "jsonq", "--burst", RQJOBS_SERIALIZER="json")
    assert result.returncode == 0, result.stderr
    assert redis_conn.zcard("rq:finished:jsonq") == 1
    assert redis_conn.zscore("rq:finished:jsonq", job.id) is not None
