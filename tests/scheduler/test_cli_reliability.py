"""``rqjobs`` in real subprocesses: RQ's scheduler inside ``rqjobs worker``, exit codes and
one-line errors for every command, ``rqjobs dedupe show|release``, start-up warnings.

Every worker and scheduler here is a real ``rqjobs`` process on the session's redis-server;
jobs count their runs in Redis (``INCR``), so the test process sees what the worker did.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
import rqjobs
from rq import Retry
from sched_support import HERE, RQJOBS, run_cli, subprocess_env

JOBS_MODULE = "cli_reliability_jobs"
JOBS_SOURCE = '''"""Jobs for test_cli_reliability (written by the test, imported by the worker)."""
from rq import get_current_job


def flaky(key):
    """Fails on its first run, succeeds on every later one (runs counted in ``key``)."""
    runs = get_current_job().connection.incr(key)
    if runs == 1:
        raise RuntimeError("first run fails on purpose")
    return runs


def record(key):
    """Counts one run in ``key``."""
    return get_current_job().connection.incr(key)


def fail(key):
    """Counts one run in ``key``, then fails."""
    get_current_job().connection.incr(key)
    raise RuntimeError("fails on purpose")
'''

SECRET = "hunter2-secret"
MALFORMED_URLS = [
    "notaurl://x",  # redis-py: "Redis URL must specify one of the following schemes"
    "redis://host:notaport",  # "Port could not be cast to integer value"
    f"redis://:{SECRET}@127.0.0.1:99999/0",  # "Port out of range 0-65535"
]
COMMANDS: dict[str, list[str]] = {
    "worker": ["worker", "--burst", "relq"],
    "scheduler": ["scheduler", "--schedule", "periodic_app:every_second", "--tick", "1"],
    "health": ["health"],
    "health-json": ["health", "--json"],
    "stats": ["stats"],
    "role": ["role"],
    "dedupe-show": ["dedupe", "show", "webhook:cli:1"],
    "dedupe-release": ["dedupe", "release", "webhook:cli:1"],
}
# Commands that talk to Redis (``role`` only reads the environment).
REDIS_COMMANDS = [name for name in COMMANDS if name != "role"]


# -- helpers --------------------------------------------------------------------------------


def assert_one_line_error(result: Any, *fragments: str) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rqjobs: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    """A TCP port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def job_status(redis_conn: Any, job_id: str) -> Any:
    return text(redis_conn.hget(f"rq:job:{job_id}", "status"))


def runs(redis_conn: Any, key: str) -> int:
    return int(redis_conn.get(key) or 0)


@pytest.fixture
def jobs_dir(tmp_path: Path) -> Path:
    (tmp_path / f"{JOBS_MODULE}.py").write_text(JOBS_SOURCE)
    return tmp_path


class WorkerProc:
    """A non-burst ``rqjobs worker`` subprocess, logging to a file; SIGTERM ends it."""

    def __init__(self, url: str, jobs_dir: Path, *args: str) -> None:
        self.log_path = jobs_dir / f"worker-{time.monotonic_ns()}.log"
        env = subprocess_env(url, PYTHONPATH=os.pathsep.join([str(jobs_dir), str(HERE)]))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [RQJOBS, "worker", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(jobs_dir),
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"worker ignored SIGTERM:\n{self.log()}") from None


@pytest.fixture
def start_worker(rqjobs_env: str, jobs_dir: Path) -> Iterator[Callable[..., WorkerProc]]:
    started: list[WorkerProc] = []

    def start(*args: str) -> WorkerProc:
        item = WorkerProc(rqjobs_env, jobs_dir, *args)
        started.append(item)
        return item

    yield start
    for item in started:
        if item.proc.poll() is None:
            item.proc.kill()
            item.proc.wait()


# -- 1. RQ's scheduler inside ``rqjobs worker`` ---------------------------------------------


def test_worker_runs_retry_intervals_by_default(
    redis_conn: Any, start_worker: Callable[..., WorkerProc]
) -> None:
    """(a) A job that fails once, with Retry(max=2, interval=1), runs twice and finishes:
    RQ's scheduler (on by default) moved the retry from rq:scheduled:<queue> back to the queue.
    """
    enqueued = time.monotonic()
    job = rqjobs.enqueue(
        "retryq", f"{JOBS_MODULE}.flaky", "runs:flaky", retry=Retry(max=2, interval=1)
    )
    worker = start_worker("retryq")
    finished = wait_for(lambda: job_status(redis_conn, job.id) == "finished", 10)
    elapsed = time.monotonic() - enqueued
    code = worker.stop()
    assert finished, f"status {job_status(redis_conn, job.id)!r}\n{worker.log()}"
    assert elapsed < 10
    assert runs(redis_conn, "runs:flaky") == 2
    assert redis_conn.zcard("rq:scheduled:retryq") == 0
    assert code == 0, worker.log()
    assert "Traceback" not in worker.log().split("first run fails on purpose")[-1]


def test_worker_runs_enqueue_in_jobs(
    redis_conn: Any, start_worker: Callable[..., WorkerProc]
) -> None:
    """(b) ``queue.enqueue_in(2 s)``: scheduled at first, run by the worker within ~8 s."""
    worker = start_worker("laterq", "--with-scheduler")
    queue = rqjobs.get_queue("laterq")
    enqueued = time.monotonic()
    job = queue.enqueue_in(timedelta(seconds=2), f"{JOBS_MODULE}.record", "runs:later")
    assert job_status(redis_conn, job.id) == "scheduled"
    ran = wait_for(lambda: job_status(redis_conn, job.id) == "finished", 8)
    elapsed = time.monotonic() - enqueued
    assert worker.stop() == 0, worker.log()
    assert ran, f"status {job_status(redis_conn, job.id)!r}\n{worker.log()}"
    assert 0.9 <= elapsed < 8  # RQ's scheduled registry keeps whole seconds
    assert runs(redis_conn, "runs:later") == 1


def test_without_scheduler_the_retry_stays_scheduled(
    redis_conn: Any, start_worker: Callable[..., WorkerProc]
) -> None:
    """(c) The control: ``--without-scheduler`` runs the job once; its retry, due after 1 s,
    is still ``scheduled`` (and not run) seconds later."""
    job = rqjobs.enqueue(
        "controlq", f"{JOBS_MODULE}.flaky", "runs:control", retry=Retry(max=2, interval=1)
    )
    worker = start_worker("controlq", "--without-scheduler")
    assert wait_for(lambda: job_status(redis_conn, job.id) == "scheduled", 10), worker.log()
    time.sleep(4)
    status = job_status(redis_conn, job.id)
    code = worker.stop()
    assert status == "scheduled", worker.log()
    assert runs(redis_conn, "runs:control") == 1
    assert redis_conn.zscore("rq:scheduled:controlq", job.id) is not None
    assert code == 0
    assert "Scheduler for" not in worker.log()


def test_burst_worker_enqueues_due_scheduled_jobs_once(
    rqjobs_env: str, redis_conn: Any, jobs_dir: Path
) -> None:
    """With ``--burst`` RQ's scheduler enqueues the jobs already due, once, at start; without
    it a burst worker leaves them scheduled."""
    queue = rqjobs.get_queue("burstq")
    job = queue.enqueue_in(timedelta(seconds=1), f"{JOBS_MODULE}.record", "runs:burst")
    time.sleep(1.5)
    pythonpath = os.pathsep.join([str(jobs_dir), str(HERE)])
    control = run_cli(
        rqjobs_env, "worker", "--burst", "--without-scheduler", "burstq", PYTHONPATH=pythonpath
    )
    assert control.returncode == 0, control.stderr
    assert job_status(redis_conn, job.id) == "scheduled"
    result = run_cli(rqjobs_env, "worker", "--burst", "burstq", PYTHONPATH=pythonpath)
    assert result.returncode == 0, result.stderr
    assert job_status(redis_conn, job.id) == "finished", result.stderr
    assert runs(redis_conn, "runs:burst") == 1


def test_worker_flags_in_help(rqjobs_env: str) -> None:
    shown = run_cli(rqjobs_env, "worker", "--help")
    assert shown.returncode == 0
    assert "--with-scheduler" in shown.stdout and "--without-scheduler" in shown.stdout
    both = run_cli(rqjobs_env, "worker", "--with-scheduler", "--without-scheduler", "--help")
    assert both.returncode == 0


# -- 2. exit codes and one-line errors ------------------------------------------------------


@pytest.mark.parametrize("url", MALFORMED_URLS)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_malformed_redis_url_is_exit_2_for_every_command(url: str, command: str) -> None:
    started = time.monotonic()
    result = run_cli(url, *COMMANDS[command], timeout=20)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = assert_one_line_error(result, "REDIS_URL", "is not a valid Redis URL")
    assert SECRET not in result.stdout + result.stderr
    if SECRET in url:
        assert "***" in line
    assert result.stdout == ""
    assert elapsed < 10  # the scheduler exits at once instead of logging every tick


@pytest.mark.parametrize("command", list(COMMANDS))
def test_unreachable_redis_is_exit_1_for_every_command(command: str) -> None:
    port = free_port()
    url = f"redis://:{SECRET}@127.0.0.1:{port}/0"
    started = time.monotonic()
    result = run_cli(url, *COMMANDS[command], timeout=30)
    elapsed = time.monotonic() - started
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if command == "role":  # needs no Redis: the configuration is valid
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        return
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert_one_line_error(result, f"127.0.0.1:{port}")
    assert elapsed < 10  # scheduler: exits (status 1) instead of retrying every tick


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RQJOBS_SOCKET_TIMEOUT", "abc"),
        ("RQJOBS_RETRIES", "-1"),
        ("RQJOBS_CALL_DEADLINE", "0"),
        ("RQJOBS_SERIALIZER", "yaml"),
    ],
)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_rqjobs_setting_is_exit_2_for_every_command(
    rqjobs_env: str, redis_conn: Any, command: str, variable: str, value: str
) -> None:
    result = run_cli(rqjobs_env, *COMMANDS[command], timeout=20, **{variable: value})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert_one_line_error(result, variable)
    assert redis_conn.keys("rqjobs:scheduler:*") == []
    assert redis_conn.keys("rq:worker*") == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_service_role_is_exit_2_for_every_command(
    rqjobs_env: str, redis_conn: Any, command: str
) -> None:
    result = run_cli(rqjobs_env, *COMMANDS[command], timeout=20, SERVICE_ROLE="webserver")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert_one_line_error(result, "SERVICE_ROLE='webserver'", "api, worker, scheduler")
    assert redis_conn.keys("rqjobs:scheduler:*") == []


def test_health_unhealthy_keeps_the_report_and_adds_one_error_line(rqjobs_env: str) -> None:
    """Unhealthy (no scheduler) is exit 1: the report on stdout, one line on stderr."""
    result = run_cli(rqjobs_env, "health")
    assert result.returncode == 1
    assert "status: unhealthy" in result.stdout
    assert_one_line_error(result, "scheduler")
    as_json = run_cli(rqjobs_env, "health", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["status"] == "unhealthy"
    assert_one_line_error(as_json)


@pytest.fixture
def read_only_user_url(redis_conn: Any, rqjobs_env: str) -> Iterator[str]:
    """A URL for an ACL user that may read and PING but not write (NOPERM on writes)."""
    redis_conn.execute_command(
        "ACL",
        "SETUSER",
        "cli-reader",
        "on",
        ">reader-pass",
        "~*",
        "&*",
        "+@read",
        "+@connection",
        "+info",
        "-@write",
    )
    host_port = rqjobs_env.split("//", 1)[1]
    yield f"redis://cli-reader:reader-pass@{host_port}"
    redis_conn.execute_command("ACL", "DELUSER", "cli-reader")


def test_a_refused_command_is_exit_1_one_line(redis_conn: Any, read_only_user_url: str) -> None:
    """Redis refusing a write (NOPERM) is a runtime failure: exit 1, one line, no password."""
    redis_conn.set("job_lock:webhook:refused:1", "token", ex=60)
    result = run_cli(read_only_user_url, "dedupe", "release", "webhook:refused:1")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert_one_line_error(result)
    assert "reader-pass" not in result.stdout + result.stderr
    assert redis_conn.exists("job_lock:webhook:refused:1") == 1
    worker = run_cli(read_only_user_url, "worker", "--burst", "relq", timeout=30)
    assert worker.returncode == 1, (worker.stdout, worker.stderr)
    assert "Traceback" not in worker.stderr
    assert worker.stderr.strip().splitlines()[-1].startswith("rqjobs: error: ")
    assert "reader-pass" not in worker.stdout + worker.stderr


# -- 3. ``rqjobs dedupe show|release`` ------------------------------------------------------

STATUS_KEYS = {
    "dedupe_key",
    "lock_key",
    "lock_ttl",
    "lock_state",
    "job_id",
    "job_status",
    "queue",
    "state",
    "accepts_redelivery",
    "reason",
}


def test_dedupe_show_free_key(rqjobs_env: str) -> None:
    shown = run_cli(rqjobs_env, "dedupe", "show", "webhook:free:1")
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == ""
    assert "webhook:free:1" in shown.stdout
    assert "job_lock:webhook:free:1" in shown.stdout
    assert "a redelivery would be accepted: yes" in shown.stdout
    as_json = run_cli(rqjobs_env, "dedupe", "show", "webhook:free:1", "--json")
    assert as_json.returncode == 0
    body = json.loads(as_json.stdout)
    assert set(body) == STATUS_KEYS
    assert body["lock_state"] == "none" and body["lock_ttl"] is None
    assert body["accepts_redelivery"] is True
    assert body["lock_key"] == "job_lock:webhook:free:1"


def test_dedupe_show_and_release_a_failed_job(
    rqjobs_env: str, redis_conn: Any, jobs_dir: Path
) -> None:
    key = "webhook:cli:failed"
    job = rqjobs.enqueue_with_dedupe(
        "dedupeq",
        f"{JOBS_MODULE}.fail",
        "runs:dedupe",
        dedupe_key=key,
        ttl=600,
        release_on_failure=False,
    )
    assert job is not None
    held = json.loads(run_cli(rqjobs_env, "dedupe", "show", key, "--json").stdout)
    assert held["lock_state"] == "held" and held["job_id"] == job.id
    assert held["job_status"] == "queued" and held["accepts_redelivery"] is False
    assert 0 < held["lock_ttl"] <= 600
    text_out = run_cli(rqjobs_env, "dedupe", "show", key).stdout
    assert job.id in text_out and "queued" in text_out
    assert "a redelivery would be accepted: no" in text_out

    pythonpath = os.pathsep.join([str(jobs_dir), str(HERE)])
    worked = run_cli(rqjobs_env, "worker", "--burst", "dedupeq", PYTHONPATH=pythonpath)
    assert worked.returncode == 0, worked.stderr
    assert job_status(redis_conn, job.id) == "failed"
    failed = json.loads(run_cli(rqjobs_env, "dedupe", "show", key, "--json").stdout)
    assert failed["job_status"] == "failed" and failed["state"] == "failed"
    assert failed["lock_state"] == "held"
    shown = run_cli(rqjobs_env, "dedupe", "show", key).stdout
    assert "failed" in shown and failed["reason"] in shown

    released = run_cli(rqjobs_env, "dedupe", "release", key)
    assert released.returncode == 0, released.stderr
    assert released.stdout.strip() == f"released job_lock:{key} (job {job.id} was failed)"
    assert redis_conn.exists(f"job_lock:{key}") == 0
    again = run_cli(rqjobs_env, "dedupe", "release", key)
    assert again.returncode == 0
    assert again.stdout.startswith(f"no lock for {key}")
    as_json = json.loads(run_cli(rqjobs_env, "dedupe", "release", key, "--json").stdout)
    assert as_json["released"] is False and as_json["lock_key"] == f"job_lock:{key}"
    after = json.loads(run_cli(rqjobs_env, "dedupe", "show", key, "--json").stdout)
    assert after["lock_state"] == "none"


def test_dedupe_release_json_when_released(rqjobs_env: str, redis_conn: Any) -> None:
    job = rqjobs.enqueue_with_dedupe("dedupeq", "periodic_app.noop", dedupe_key="webhook:j:1")
    assert job is not None
    body = json.loads(run_cli(rqjobs_env, "dedupe", "release", "webhook:j:1", "--json").stdout)
    assert body["released"] is True and body["job_id"] == job.id
    assert body["job_status"] == "queued"
    assert redis_conn.exists("job_lock:webhook:j:1") == 0


@pytest.mark.parametrize("key", ["", "   ", "webhook:baileys:", ":x"])
@pytest.mark.parametrize("action", ["show", "release"])
def test_dedupe_bad_key_is_exit_2(rqjobs_env: str, action: str, key: str) -> None:
    result = run_cli(rqjobs_env, "dedupe", action, key)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert_one_line_error(result)
    assert result.stdout == ""


@pytest.mark.parametrize("role", ["api", "worker", "scheduler", "calls", "all"])
def test_dedupe_commands_run_in_every_role(rqjobs_env: str, role: str) -> None:
    for action in ("show", "release"):
        result = run_cli(rqjobs_env, "dedupe", action, "webhook:role:1", SERVICE_ROLE=role)
        assert result.returncode == 0, result.stderr


def test_dedupe_help_and_usage(rqjobs_env: str) -> None:
    for command in (["dedupe"], ["dedupe", "show"], ["dedupe", "release"]):
        shown = run_cli(rqjobs_env, *command, "--help")
        assert shown.returncode == 0 and "usage: rqjobs dedupe" in shown.stdout
    missing = run_cli(rqjobs_env, "dedupe")
    assert missing.returncode == 2
    assert_one_line_error(missing)
    no_key = run_cli(rqjobs_env, "dedupe", "show")
    assert no_key.returncode == 2
    assert_one_line_error(no_key, "KEY")


# -- 4. start-up warnings -------------------------------------------------------------------


@pytest.fixture
def volatile_lru(redis_conn: Any) -> Iterator[None]:
    before = text(redis_conn.config_get("maxmemory-policy")["maxmemory-policy"])
    redis_conn.config_set("maxmemory-policy", "volatile-lru")
    yield
    redis_conn.config_set("maxmemory-policy", before)


def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "maxmemory-policy" in line]


def test_worker_warns_about_the_eviction_policy_once(rqjobs_env: str, volatile_lru: None) -> None:
    result = run_cli(rqjobs_env, "worker", "--burst", "warnq")
    assert result.returncode == 0, result.stderr
    found = warning_lines(result.stderr)
    assert len(found) == 1, result.stderr
    assert "WARNING" in found[0] and "volatile-lru" in found[0]


def test_worker_does_not_warn_with_noeviction(rqjobs_env: str, redis_conn: Any) -> None:
    redis_conn.config_set("maxmemory-policy", "noeviction")
    result = run_cli(rqjobs_env, "worker", "--burst", "warnq")
    assert result.returncode == 0, result.stderr
    assert warning_lines(result.stderr) == []


def test_scheduler_warns_about_the_eviction_policy_once(
    rqjobs_env: str, volatile_lru: None, tmp_path: Path
) -> None:
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [RQJOBS, "scheduler", "--schedule", "periodic_app:every_second", "--tick", "1"],
            env=subprocess_env(rqjobs_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(HERE),
        )
    try:
        assert wait_for(lambda: "Lock acquired" in log_path.read_text(), 15), log_path.read_text()
        time.sleep(1.5)  # a couple more cycles: the warning is not repeated per tick
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    found = warning_lines(log_path.read_text())
    assert len(found) == 1, log_path.read_text()
    assert "WARNING" in found[0] and "volatile-lru" in found[0]


@pytest.mark.parametrize("command", ["worker", "scheduler", "stats", "dedupe-show"])
def test_wrong_password_is_exit_1_and_not_echoed(own_redis: Any, command: str) -> None:
    url = f"redis://:wrong-{SECRET}@{own_redis.host}:{own_redis.port}/0"
    result = run_cli(url, *COMMANDS[command], timeout=30)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert_one_line_error(result, f"{own_redis.host}:{own_redis.port}")
    assert SECRET not in result.stdout + result.stderr
