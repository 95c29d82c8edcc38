"""enqueue_with_dedupe: one event one job, window, in-flight, release on final failure, keys."""

from __future__ import annotations

import logging
import time

import pytest
import rqjobs
from rq import Callback, Retry
from rq.job import Job, JobStatus
from rqjobs import scripts
from rqjobs.dedupe import LOCK_PREFIX, MAX_KEY_LENGTH, lock_key, release_lock_on_failure
from rqjobs.errors import InvalidDedupeKeyError
from runtime_jobs import RUNS_KEY, USER_CALLBACK_KEY
from runtime_support import run_worker


@pytest.mark.smoke
def test_second_delivery_is_a_duplicate(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "webhook:baileys:MSG1"
    caplog.set_level(logging.INFO, logger="rqjobs.dedupe")
    job = rqjobs.enqueue_with_dedupe("webhooks", "runtime_jobs.record", "MSG1", dedupe_key=key)
    assert job is not None
    assert job.id == rqjobs.generate_deterministic_job_id(key)
    assert job.meta["dedupe_key"] == key
    again = rqjobs.enqueue_with_dedupe("webhooks", "runtime_jobs.record", "MSG1", dedupe_key=key)
    assert again is None
    assert redis_conn.lrange("rq:queue:webhooks", 0, -1) == [job.id.encode()]
    assert redis_conn.keys("job_lock:*") == [f"job_lock:{key}".encode()]
    assert 595 <= redis_conn.ttl(f"job_lock:{key}") <= 600
    assert redis_conn.get(f"job_lock:{key}") == redis_conn.hget(job.key, scripts.TOKEN_FIELD)
    assert rqjobs.stats.get_counters() == {
        "enqueued": {"webhooks": 1},
        "dedupe_hits": {"webhooks": 1},
    }
    skipped = [r.getMessage() for r in caplog.records if "Skipped duplicate" in r.getMessage()]
    assert len(skipped) == 1 and f"dedupe_key={key}" in skipped[0]
    stored = Job.fetch(job.id, connection=redis_conn)
    assert stored.meta["dedupe_key"] == key and stored.get_status() == JobStatus.QUEUED


def test_the_window_does_not_expire_the_job(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "e", dedupe_key="w:1", ttl=5)
    assert job is not None
    assert redis_conn.ttl(job.key) == -1  # waits in a backed-up queue as long as it takes
    bounded = rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.record", "e", dedupe_key="w:2", ttl=5, job_ttl=3600
    )
    assert bounded is not None
    assert 3590 < redis_conn.ttl(bounded.key) <= 3600
    assert 0 < redis_conn.ttl("job_lock:w:2") <= 5


def test_still_a_duplicate_while_queued_after_the_window(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.record", "q", dedupe_key="slow:1", ttl=1
    )
    assert job is not None
    time.sleep(1.2)
    assert not redis_conn.exists("job_lock:slow:1")  # the window has passed ...
    # ... but the first job is still queued: a repeat must not run it twice.
    assert (
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "q", dedupe_key="slow:1")
        is None
    )
    # A worker takes it: off the list, status started, a live entry in rq's execution registry.
    assert redis_conn.lpop("rq:queue:default") == job.id.encode()
    redis_conn.hset(job.key, "status", "started")
    redis_conn.zadd(f"rq:executions:{job.id}", {"exec1": time.time() + 60})
    assert (
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "q", dedupe_key="slow:1")
        is None
    )
    assert redis_conn.llen("rq:queue:default") == 0
    assert rqjobs.stats.get_counters()["dedupe_hits"] == {"default": 2}
    # Its execution expires (the worker died): the event is free again.
    redis_conn.zadd(f"rq:executions:{job.id}", {"exec1": time.time() - 1})
    again = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "q", dedupe_key="slow:1")
    assert again is not None and again.id == job.id
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [job.id.encode()]
    assert not redis_conn.exists(f"rq:executions:{job.id}")


def test_after_the_window_and_the_run_the_event_runs_again(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    first = rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.record", "z", dedupe_key="again:1", ttl=1
    )
    assert first is not None
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert redis_conn.zcard("rq:finished:default") == 1
    time.sleep(1.2)
    second = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "z", dedupe_key="again:1")
    assert second is not None and second.id == first.id
    assert Job.fetch(second.id, connection=redis_conn).get_status() == JobStatus.QUEUED
    assert redis_conn.zcard("rq:finished:default") == 0  # the stale entry went with the old run
    assert redis_conn.llen("rq:queue:default") == 1
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert redis_conn.hget(RUNS_KEY, "z") == b"2"


def test_final_failure_releases_the_lock(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue_with_dedupe(
        "default",
        "runtime_jobs.fail",
        "f1",
        dedupe_key="fail:1",
        retry=Retry(max=1),
        on_failure=Callback("runtime_jobs.user_on_failure"),
    )
    assert job is not None
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert redis_conn.hget(RUNS_KEY, "f1") == b"2"  # first run + one retry
    assert Job.fetch(job.id, connection=redis_conn).get_status() == JobStatus.FAILED
    assert not redis_conn.exists("job_lock:fail:1")
    assert redis_conn.get(USER_CALLBACK_KEY) == b"2"  # the caller's callback still runs
    # The provider's next retry is processed.
    retry = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "f1", dedupe_key="fail:1")
    assert retry is not None
    assert redis_conn.zcard("rq:failed:default") == 0
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [job.id.encode()]


def test_lock_is_kept_while_retries_remain(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.fail", "f2", dedupe_key="fail:2", retry=Retry(max=3, interval=60)
    )
    assert job is not None
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    stored = Job.fetch(job.id, connection=redis_conn)
    assert stored.get_status() == JobStatus.SCHEDULED
    assert redis_conn.exists("job_lock:fail:2")
    # An RQ scheduler runs for the queue (it holds rq's per-queue scheduler lock).
    redis_conn.set("rq:scheduler-lock:default", "worker-1", ex=60)
    assert (
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "f2", dedupe_key="fail:2")
        is None
    )
    # No scheduler will ever move the retry back: the redelivery is accepted, and the
    # scheduled entry goes, so a scheduler started later cannot run the event a second time.
    redis_conn.delete("rq:scheduler-lock:default")
    again = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "f2", dedupe_key="fail:2")
    assert again is not None
    assert redis_conn.zcard("rq:scheduled:default") == 0
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [job.id.encode()]


def test_release_on_failure_can_be_turned_off(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.fail", "f3", dedupe_key="fail:3", release_on_failure=False
    )
    assert job is not None and job.failure_callback is None
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert Job.fetch(job.id, connection=redis_conn).get_status() == JobStatus.FAILED
    assert redis_conn.exists("job_lock:fail:3")
    assert (
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "f3", dedupe_key="fail:3")
        is None
    )


def test_release_only_deletes_its_own_lock(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.fail", "f4", dedupe_key="fail:4")
    assert job is not None
    redis_conn.set("job_lock:fail:4", "someone-else", ex=600)
    stored = Job.fetch(job.id, connection=redis_conn)
    release_lock_on_failure(stored, redis_conn, RuntimeError, RuntimeError("x"), None)
    assert redis_conn.get("job_lock:fail:4") == b"someone-else"
    redis_conn.set("job_lock:fail:4", redis_conn.hget(job.key, scripts.TOKEN_FIELD), ex=600)
    release_lock_on_failure(stored, redis_conn, RuntimeError, RuntimeError("x"), None)
    assert not redis_conn.exists("job_lock:fail:4")


@pytest.mark.parametrize(
    "key",
    ["", "   ", "webhook:baileys:", ":abc", "a::b", "a: :b", " lead", "trail ", "a\nb", None, 42],
)
def test_bad_keys_raise_and_write_nothing(rqjobs_env: str, redis_conn, key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as caught:
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "x", dedupe_key=key)
    assert isinstance(caught.value, InvalidDedupeKeyError)
    assert "dedupe_key" in str(caught.value)
    assert redis_conn.dbsize() == 0


def test_long_keys_are_hashed(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    hostile = "webhook:twilio:" + "A" * 100_000
    job = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "x", dedupe_key=hostile)
    assert job is not None
    (lock,) = redis_conn.keys("job_lock:*")
    assert len(lock) < len(LOCK_PREFIX) + 64 + 8 + 64 + 1 < MAX_KEY_LENGTH + 20
    assert lock.decode() == lock_key(hostile)
    assert lock.decode().startswith("job_lock:webhook:twilio:AAAA")
    assert len(job.id) <= 100
    assert (
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "x", dedupe_key=hostile)
        is None
    )
    other = hostile[:-1] + "B"
    assert (
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "x", dedupe_key=other)
        is not None
    )
    # Just under the limit is kept as written.
    exact = "k:" + "b" * (MAX_KEY_LENGTH - 2)
    assert lock_key(exact) == "job_lock:" + exact


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "positive"),
        ({"ttl": -5}, "positive"),
        ({"ttl": 1.5}, "positive"),
        ({"job_id": "mine"}, "job_id"),
        ({"unique": True}, "unique"),
    ],
)
def test_bad_options_raise_and_write_nothing(rqjobs_env: str, redis_conn, options, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        rqjobs.enqueue_with_dedupe(
            "default", "runtime_jobs.record", "x", dedupe_key="k:1", **options
        )
    assert redis_conn.dbsize() == 0


def test_depends_on_goes_through_a_transaction(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    parent = rqjobs.enqueue("default", "runtime_jobs.record", "parent")
    child = rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.record", "child", dedupe_key="dep:1", depends_on=parent
    )
    assert child is not None and child.get_status() == JobStatus.DEFERRED
    assert (
        rqjobs.enqueue_with_dedupe(
            "default", "runtime_jobs.record", "child", dedupe_key="dep:1", depends_on=parent
        )
        is None
    )
    assert redis_conn.get("job_lock:dep:1") == redis_conn.hget(child.key, scripts.TOKEN_FIELD)
    assert rqjobs.stats.get_counters() == {
        "enqueued": {"default": 2},
        "dedupe_hits": {"default": 1},
    }
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert redis_conn.hgetall(RUNS_KEY) == {b"parent": b"1", b"child": b"1"}
