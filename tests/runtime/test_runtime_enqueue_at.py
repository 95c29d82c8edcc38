"""``rqjobs.enqueue_at`` / ``rqjobs.enqueue_in``: scheduled jobs with ``enqueue``'s guarantees.

Every worker here is a real ``rqjobs worker`` subprocess (RQ's scheduler on by default) on
the session's redis-server; jobs count their runs in Redis, so the test process sees what
the worker did and when.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import redis
import rqjobs
from rq import Queue
from rq.job import Job
from rqjobs import scripts
from rqjobs.errors import DuplicateJobError, RedisUnavailable
from runtime_support import ReplyDroppingProxy
from test_runtime_deadline import SHORT, SHORT_BOUND, SLACK, BlackHole

RQJOBS = str(Path(sys.executable).with_name("rqjobs"))
JOBS_MODULE = "enqueue_at_jobs"
JOBS_SOURCE = '''"""Jobs for test_runtime_enqueue_at (written by the test, run by the worker)."""
import time
from datetime import timedelta

from rq import get_current_job


def record(key):
    """Counts one run in ``key`` and notes when it ran (``<key>:at``, time.time())."""
    connection = get_current_job().connection
    connection.set(key + ":at", repr(time.time()))
    return connection.incr(key)


def follow_up(key):
    """Runs in the worker role and schedules ``record(key)`` one second later."""
    import rqjobs

    job = rqjobs.enqueue_in("atq", timedelta(seconds=1), "enqueue_at_jobs.record", key)
    return job.id
'''


def text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def job_status(redis_conn: Any, job_id: str) -> Any:
    return text(redis_conn.hget(f"rq:job:{job_id}", "status"))


def wait_for(condition: Callable[[], Any], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


class WorkerProc:
    """A non-burst ``rqjobs worker`` subprocess, logging to a file; SIGTERM ends it."""

    def __init__(self, url: str, jobs_dir: Path, queues: list[str], env: dict[str, str]) -> None:
        self.log_path = jobs_dir / f"worker-{time.monotonic_ns()}.log"
        full_env = dict(os.environ)
        for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER"):
            full_env.pop(name, None)
        full_env.update(REDIS_URL=url, PYTHONPATH=str(jobs_dir), PYTHONUNBUFFERED="1", **env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [RQJOBS, "worker", *queues],
                env=full_env,
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
def jobs_dir(tmp_path: Path) -> Path:
    (tmp_path / f"{JOBS_MODULE}.py").write_text(JOBS_SOURCE)
    return tmp_path


@pytest.fixture
def start_worker(rqjobs_env: str, jobs_dir: Path) -> Iterator[Callable[..., WorkerProc]]:
    started: list[WorkerProc] = []

    def start(*queues: str, **env: str) -> WorkerProc:
        worker = WorkerProc(rqjobs_env, jobs_dir, list(queues), env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()


def ran_at(redis_conn: Any, key: str) -> float:
    return float(text(redis_conn.get(f"{key}:at")))


# --- scheduling, run by a real worker ----------------------------------------------------


@pytest.mark.smoke
def test_enqueue_in_one_second_is_not_run_before_it_and_runs_after(
    redis_conn: Any, jobs_dir: Path, start_worker: Callable[..., WorkerProc]
) -> None:
    worker = start_worker("atq")
    time.sleep(1.5)  # the worker and its scheduler are up: only the delay decides
    called = time.time()
    job = rqjobs.enqueue_in("atq", timedelta(seconds=1), f"{JOBS_MODULE}.record", "runs:in")
    # Scheduled, not queued: the job hash, rq:scheduled:atq, no push to rq:queue:atq.
    assert job_status(redis_conn, job.id) == "scheduled"
    assert redis_conn.zscore("rq:scheduled:atq", job.id) is not None
    assert redis_conn.llen("rq:queue:atq") == 0
    assert redis_conn.sismember("rq:queues", "rq:queue:atq")
    assert job.meta["enqueued_by"]["role"] == "all"
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "atq") == b"1"
    # The registry's score is rounded up, so the job is never due before the delay.
    assert redis_conn.zscore("rq:scheduled:atq", job.id) >= called + 1
    time.sleep(max(0.0, called + 0.8 - time.time()))
    assert int(redis_conn.get("runs:in") or 0) == 0
    finished = wait_for(lambda: job_status(redis_conn, job.id) == "finished", 10)
    code = worker.stop()
    assert finished, f"status {job_status(redis_conn, job.id)!r}\n{worker.log()}"
    assert int(redis_conn.get("runs:in")) == 1
    delay = ran_at(redis_conn, "runs:in") - called
    print(f"\nenqueue_in(1 s): ran {delay:.2f} s after the call")
    assert 1.0 <= delay < 5
    assert redis_conn.zcard("rq:scheduled:atq") == 0
    assert code == 0, worker.log()


def test_enqueue_at_a_past_or_near_datetime_runs(
    redis_conn: Any, start_worker: Callable[..., WorkerProc]
) -> None:
    worker = start_worker("atq")
    now = datetime.now(timezone.utc)
    past = rqjobs.enqueue_at("atq", now - timedelta(minutes=5), f"{JOBS_MODULE}.record", "past")
    near = rqjobs.enqueue_at(
        rqjobs.get_queue("atq"), now + timedelta(milliseconds=300), f"{JOBS_MODULE}.record", "near"
    )
    naive = rqjobs.enqueue_at("atq", datetime.now(), f"{JOBS_MODULE}.record", "naive")  # local
    ids = (past.id, near.id, naive.id)
    assert all(job_status(redis_conn, job_id) == "scheduled" for job_id in ids)
    done = wait_for(lambda: all(job_status(redis_conn, i) == "finished" for i in ids), 10)
    code = worker.stop()
    assert done, worker.log()
    assert [int(redis_conn.get(key)) for key in ("past", "near", "naive")] == [1, 1, 1]
    assert ran_at(redis_conn, "near") >= now.timestamp() + 0.3
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "atq") == b"3"
    assert code == 0, worker.log()


def test_without_a_scheduler_the_job_stays_scheduled(
    redis_conn: Any, start_worker: Callable[..., WorkerProc]
) -> None:
    """The control: the wrapper only schedules; the scheduler inside the worker runs it."""
    worker = start_worker("atq", "--without-scheduler")
    job = rqjobs.enqueue_in("atq", timedelta(seconds=0), f"{JOBS_MODULE}.record", "control")
    time.sleep(3)
    status = job_status(redis_conn, job.id)
    assert worker.stop() == 0, worker.log()
    assert status == "scheduled"
    assert redis_conn.get("control") is None


def test_a_job_in_the_worker_role_schedules_another(
    redis_conn: Any, start_worker: Callable[..., WorkerProc]
) -> None:
    """``enqueue`` is allowed in the worker role (jobs enqueue jobs); so is ``enqueue_in``."""
    worker = start_worker("atq", SERVICE_ROLE="worker")
    parent = rqjobs.enqueue("atq", f"{JOBS_MODULE}.follow_up", "runs:child")
    finished = wait_for(lambda: int(redis_conn.get("runs:child") or 0) == 1, 15)
    code = worker.stop()
    assert finished, worker.log()
    child_id = Job.fetch(parent.id, connection=redis_conn).return_value()
    child = rqjobs.get_queue("atq").fetch_job(child_id)
    assert child is not None and child.meta["enqueued_by"]["role"] == "worker"
    assert code == 0, worker.log()


# --- the same guarantees as enqueue -------------------------------------------------------


def test_bad_role_blocks_scheduling_and_writes_nothing(
    rqjobs_env: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICE_ROLE", "apii")
    when = datetime.now(timezone.utc)
    with pytest.raises(ValueError, match="SERVICE_ROLE"):
        rqjobs.enqueue("default", "runtime_jobs.record", "x")
    with pytest.raises(ValueError, match="SERVICE_ROLE"):
        rqjobs.enqueue_at("default", when, "runtime_jobs.record", "x")
    with pytest.raises(ValueError, match="SERVICE_ROLE"):
        rqjobs.enqueue_in("default", timedelta(seconds=5), "runtime_jobs.record", "x")
    assert redis_conn.dbsize() == 0


def test_queue_lookup_and_argument_checks_as_enqueue(
    rqjobs_env: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQJOBS_QUEUES", "atq")
    when = datetime.now(timezone.utc)
    with pytest.raises(ValueError) as plain:
        rqjobs.enqueue("nope", "runtime_jobs.record", "x")
    with pytest.raises(ValueError) as at:
        rqjobs.enqueue_at("nope", when, "runtime_jobs.record", "x")
    with pytest.raises(ValueError) as later:
        rqjobs.enqueue_in(Queue("nope", connection=redis_conn), timedelta(0), "runtime_jobs.x")
    assert type(at.value) is type(plain.value) is type(later.value)
    with pytest.raises(TypeError, match="when must be a datetime"):
        rqjobs.enqueue_at("atq", 5, "runtime_jobs.record")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="delay must be a timedelta"):
        rqjobs.enqueue_in("atq", 5, "runtime_jobs.record")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="requires an explicit job_id"):
        rqjobs.enqueue_in("atq", timedelta(0), "runtime_jobs.record", unique=True)
    assert redis_conn.dbsize() == 0


def test_keywords_unique_and_explicit_args(rqjobs_env: str, redis_conn: Any) -> None:
    when = datetime.now(timezone.utc) + timedelta(hours=1)
    job = rqjobs.enqueue_at(
        "atq",
        when,
        "runtime_jobs.echo",
        args=(1, 2),
        kwargs={"x": 3},
        job_id="at-1",
        job_timeout=30,
        result_ttl=60,
        meta={"mine": True},
        unique=True,
    )
    fetched = rqjobs.get_queue("atq").fetch_job("at-1")
    assert fetched is not None and job.id == "at-1"
    assert fetched.args == [1, 2] or tuple(fetched.args) == (1, 2)
    assert fetched.kwargs == {"x": 3}
    assert fetched.timeout == 30 and fetched.result_ttl == 60
    assert fetched.meta["mine"] is True and "enqueued_by" in fetched.meta
    assert redis_conn.zscore("rq:scheduled:atq", "at-1") == int(when.timestamp()) + 1
    with pytest.raises(DuplicateJobError):
        rqjobs.enqueue_at("atq", when, "runtime_jobs.echo", job_id="at-1", unique=True)
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "atq") == b"1"
    # Without unique=True an explicit id is rescheduled (RQ's semantics).
    rqjobs.enqueue_at("atq", when + timedelta(hours=1), "runtime_jobs.echo", job_id="at-1")
    assert redis_conn.zscore("rq:scheduled:atq", "at-1") == int(when.timestamp()) + 3601
    # pipeline=: the caller executes.
    with redis_conn.pipeline() as pipe:
        piped = rqjobs.enqueue_in("atq", timedelta(hours=1), "runtime_jobs.echo", pipeline=pipe)
        assert not redis_conn.exists(f"rq:job:{piped.id}")  # RQ 2.x writes its ZADD at once
        pipe.execute()
    assert redis_conn.zscore("rq:scheduled:atq", piped.id) is not None
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "atq") == b"3"


def test_lost_exec_reply_schedules_once(
    proxy: ReplyDroppingProxy, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", proxy.url)
    rqjobs.reset_redis()
    try:
        proxy.drop_reply_to(b"EXEC")
        job = rqjobs.enqueue_in("atq", timedelta(hours=1), "runtime_jobs.record", "lost")
        assert proxy.dropped == 1
    finally:
        rqjobs.reset_redis()
    assert redis_conn.zrange("rq:scheduled:atq", 0, -1) == [job.id.encode()]
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "atq") == b"1"


# --- Redis down: the same error as enqueue, within the deadline ----------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CALLS: dict[str, Callable[[], Any]] = {
    "enqueue": lambda: rqjobs.enqueue("default", "runtime_jobs.record", "x"),
    "enqueue_at": lambda: rqjobs.enqueue_at(
        "default", datetime.now(timezone.utc), "runtime_jobs.record", "x"
    ),
    "enqueue_in": lambda: rqjobs.enqueue_in(
        "default", timedelta(seconds=5), "runtime_jobs.record", "x"
    ),
}


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER", *SHORT):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    rqjobs.reset_redis()


@pytest.mark.parametrize("name", list(CALLS))
def test_black_hole_raises_redis_unavailable_within_the_deadline(
    clean_settings: pytest.MonkeyPatch, name: str
) -> None:
    hole = BlackHole()
    try:
        clean_settings.setenv("REDIS_URL", hole.url)
        for setting, value in SHORT.items():
            clean_settings.setenv(setting, value)
        rqjobs.reset_redis()
        started = time.monotonic()
        with pytest.raises(RedisUnavailable) as caught:
            CALLS[name]()
        elapsed = time.monotonic() - started
    finally:
        hole.close()
    print(f"\n[black hole, deadline 2 s] {name}: {elapsed:.2f}s: {caught.value}")
    assert elapsed <= SHORT_BOUND + SLACK
    assert hole.url in str(caught.value)
    assert "\n" not in str(caught.value)


def test_refused_connection_gives_the_same_error_as_enqueue(
    clean_settings: pytest.MonkeyPatch,
) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    clean_settings.setenv("REDIS_URL", url)
    errors: dict[str, BaseException] = {}
    for name, call in CALLS.items():
        rqjobs.reset_redis()
        started = time.monotonic()
        with pytest.raises(RedisUnavailable) as caught:
            call()
        assert time.monotonic() - started <= 10 + SLACK
        assert not isinstance(caught.value, redis.exceptions.RedisError) or isinstance(
            caught.value, RedisUnavailable
        )
        errors[name] = caught.value
    assert {type(error) for error in errors.values()} == {type(errors["enqueue"])}
    assert all(url in str(error) for error in errors.values())
