"""enqueue_with_dedupe checks the held job's real state; dedupe_status/release_dedupe; keys.

Each case builds the state a real fault leaves in Redis (a popped-but-never-started id, an
expired execution, a deleted job, a scheduled retry with no scheduler) and checks that the
redelivery is accepted or refused as the rule in ``rqjobs.scripts.DEDUPE_STATE`` says. The
fault tests with real SIGKILLed workers are in test_runtime_dedupe_faults.py.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
import rqjobs
from rq.job import Job, JobStatus
from rqjobs.dedupe import dedupe_status, normalize_dedupe_key, release_dedupe
from rqjobs.errors import InvalidDedupeKeyError, RedisOutOfMemory, RedisReadOnly
from runtime_jobs import RUNS_KEY
from runtime_support import run_worker

QUEUE = "default"


def deliver(event: str, **options: object) -> Job | None:
    return rqjobs.enqueue_with_dedupe(
        QUEUE, "runtime_jobs.record", event, dedupe_key=f"evt:{event}", **options
    )


def test_an_orphaned_job_frees_its_event_after_the_grace(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A multi-queue worker SIGKILLed right after BLPOP leaves ``queued`` in no list."""
    monkeypatch.setenv("RQJOBS_ORPHAN_GRACE", "1")
    job = deliver("o1")
    assert job is not None
    assert redis_conn.lpop(f"rq:queue:{QUEUE}") == job.id.encode()  # the dead worker's BLPOP
    # Just popped: a live worker may be about to start it, so it still holds the event.
    assert deliver("o1") is None
    assert dedupe_status("evt:o1")["state"] == "popped"
    assert dedupe_status("evt:o1")["accepts_redelivery"] is False
    time.sleep(1.1)
    status = dedupe_status("evt:o1")
    assert status["state"] == "orphaned" and status["accepts_redelivery"] is True
    again = deliver("o1")
    assert again is not None and again.id == job.id
    assert redis_conn.lrange(f"rq:queue:{QUEUE}", 0, -1) == [job.id.encode()]
    assert run_worker(rqjobs_env, [QUEUE]).returncode == 0
    assert redis_conn.hget(RUNS_KEY, "o1") == b"1"


def test_a_requeued_job_is_not_an_orphan_from_an_old_sighting(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RQJOBS_ORPHAN_GRACE", "1")
    job = deliver("o2")
    assert job is not None
    redis_conn.lpop(f"rq:queue:{QUEUE}")
    assert deliver("o2") is None  # the first sighting is stamped
    # A live worker started it after all; later rq requeued it (a retry): new enqueued_at.
    redis_conn.hset(job.key, "enqueued_at", "2030-01-01T00:00:00.000000Z")
    time.sleep(1.1)
    redis_conn.lpop(f"rq:queue:{QUEUE}")
    assert deliver("o2") is None  # the old stamp does not count for this enqueue


def test_a_job_in_the_intermediate_list_holds_its_event(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = deliver("i1")
    assert job is not None
    redis_conn.lmove(f"rq:queue:{QUEUE}", f"rq:queue:{QUEUE}:intermediate")  # one-queue pop
    assert deliver("i1") is None
    assert dedupe_status("evt:i1")["state"] == "queued"


@pytest.mark.parametrize("how", ["delete", "cancel"])
def test_a_deleted_or_canceled_job_frees_its_event(rqjobs_env: str, redis_conn, how: str) -> None:  # type: ignore[no-untyped-def]
    job = deliver("d1")
    assert job is not None
    stored = Job.fetch(job.id, connection=redis_conn)
    getattr(stored, how)()
    status = dedupe_status("evt:d1")
    assert status["accepts_redelivery"] is True
    assert status["state"] == ("gone" if how == "delete" else "canceled")
    assert status["lock_state"] == "held"
    again = deliver("d1")
    assert again is not None
    assert redis_conn.lrange(f"rq:queue:{QUEUE}", 0, -1) == [job.id.encode()]
    assert redis_conn.zcard(f"rq:canceled:{QUEUE}") == 0
    assert run_worker(rqjobs_env, [QUEUE]).returncode == 0
    assert redis_conn.hget(RUNS_KEY, "d1") == b"1"


def test_a_failed_job_frees_its_event_even_with_the_lock(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    """A horse SIGKILLed: the worker marks the job failed and no on_failure callback runs."""
    job = deliver("f1")
    assert job is not None
    redis_conn.lpop(f"rq:queue:{QUEUE}")
    redis_conn.hset(job.key, "status", "failed")
    redis_conn.zadd(f"rq:failed:{QUEUE}", {job.id: time.time() + 3600})
    assert redis_conn.exists("job_lock:evt:f1")
    again = deliver("f1")
    assert again is not None
    assert redis_conn.zcard(f"rq:failed:{QUEUE}") == 0
    assert Job.fetch(job.id, connection=redis_conn).get_status() == JobStatus.QUEUED


def test_a_finished_job_holds_its_event_after_rq_dropped_it(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = deliver("r0", result_ttl=0)
    assert job is not None
    assert run_worker(rqjobs_env, [QUEUE]).returncode == 0
    assert not redis_conn.exists(job.key)  # result_ttl=0: rq deleted the hash
    status = dedupe_status("evt:r0")
    assert status["lock_state"] == "done" and status["accepts_redelivery"] is False
    assert deliver("r0") is None
    assert redis_conn.hget(RUNS_KEY, "r0") == b"1"


def test_status_and_release(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    free = dedupe_status("evt:s1")
    assert free["state"] == "free" and free["accepts_redelivery"] is True
    assert free["lock_ttl"] is None and free["job_status"] is None
    job = deliver("s1", ttl=300)
    assert job is not None
    held = dedupe_status("evt:s1")
    assert held["state"] == "queued" and held["job_status"] == "queued"
    assert held["queue"] == QUEUE and held["job_id"] == job.id
    assert 295 < held["lock_ttl"] <= 300 and held["accepts_redelivery"] is False
    assert release_dedupe("evt:s1") is True
    assert release_dedupe("evt:s1") is False
    # The job is still queued: releasing the lock does not let the event run twice.
    assert deliver("s1") is None
    with pytest.raises(InvalidDedupeKeyError):
        dedupe_status("evt:")
    with pytest.raises(InvalidDedupeKeyError):
        release_dedupe("")


@pytest.mark.parametrize(
    ("key", "position", "what"),
    [
        ("evt:\u200babc", 4, "invisible format character"),
        ("evt:a\u2028b", 5, "line separator"),
        ("evt:a\u2029b", 5, "paragraph separator"),
        ("evt:\ufeffx", 4, "invisible format character"),
        ("evt:ab\ud800", 6, "lone surrogate"),
        ("evt:a\x85b", 5, "control character"),
        ("evt:a\x1bb", 5, "control character"),
    ],
)
def test_keys_with_invisible_or_broken_characters_are_refused(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    key: str,
    position: int,
    what: str,
) -> None:
    with pytest.raises(InvalidDedupeKeyError) as caught:
        rqjobs.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "x", dedupe_key=key)
    message = str(caught.value)
    assert what in message and f"position {position}" in message
    assert "\n" not in message and "\u2028" not in message
    assert redis_conn.dbsize() == 0


def test_two_unicode_spellings_are_one_event(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    composed, decomposed = "evt:caf\u00e9", "evt:cafe\u0301"
    assert normalize_dedupe_key(decomposed) == composed
    first = rqjobs.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "c", dedupe_key=composed)
    assert first is not None
    assert (
        rqjobs.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "c", dedupe_key=decomposed)
        is None
    )
    assert redis_conn.llen(f"rq:queue:{QUEUE}") == 1


# -- a duplicate is answered "duplicate" when the server can answer reads --------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def replica(redis_proc, redis_conn, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A read-only replica of the session server: its ``redis://`` URL."""
    port = _free_port()
    process = subprocess.Popen(
        [
            redis_proc.executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
            "--save",
            "",
            "--appendonly",
            "no",
            "--replicaof",
            redis_proc.host,
            str(redis_proc.port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.info("replication").get("master_link_status") == "up":
                    break
            except redis.ConnectionError:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError("the replica never synced")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.kill()
        process.wait(10)


def test_a_duplicate_on_a_read_only_replica_is_answered(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    replica: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = deliver("ro1")
    assert job is not None
    replica_client = redis.Redis.from_url(replica)
    deadline = time.monotonic() + 10
    while not replica_client.exists(job.key) and time.monotonic() < deadline:
        time.sleep(0.05)
    monkeypatch.setenv("REDIS_URL", replica)
    rqjobs.reset_redis()
    assert deliver("ro1") is None  # read, answered; only the hit counter could not be written
    with pytest.raises(RedisReadOnly) as caught:
        deliver("ro2")  # a new event needs a write: refused, with the cause and the fix
    assert "read-only replica (READONLY)" in str(caught.value)
    replica_client.close()


def test_a_duplicate_under_oom_is_answered(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = deliver("oom1")
    assert job is not None
    used = int(redis_conn.info("memory")["used_memory"])
    redis_conn.config_set("maxmemory-policy", "noeviction")
    try:
        redis_conn.config_set("maxmemory", str(used))
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for index in range(100):
                redis_conn.set(f"filler:{index}", "x" * 100_000)
        assert deliver("oom1") is None
        with pytest.raises(RedisOutOfMemory) as caught:
            deliver("oom2")
        assert "out of memory (OOM" in str(caught.value)
    finally:
        redis_conn.config_set("maxmemory", "0")
