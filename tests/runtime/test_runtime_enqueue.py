"""rqjobs.enqueue: same job as RQ's own enqueue, runs in a real worker, counted, re-send safe."""

from __future__ import annotations

import os
import socket

import pytest
import rqjobs
from rq import Callback, Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rqjobs import scripts
from rqjobs.errors import DuplicateJobError
from runtime_jobs import FORK_KEY, RUNS_KEY
from runtime_support import run_worker

VOLATILE = {b"created_at", b"enqueued_at", scripts.TOKEN_FIELD.encode()}


def _comparable(raw: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {field: value for field, value in raw.items() if field not in VOLATILE}


@pytest.mark.smoke
def test_job_hash_is_the_one_rq_writes(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    options = dict(
        job_timeout=30,
        result_ttl=60,
        failure_ttl=70,
        ttl=900,
        description="compare",
        retry=Retry(max=2, interval=[1, 2]),
        on_success=Callback("runtime_jobs.record"),
    )
    ours = rqjobs.enqueue("default", "runtime_jobs.echo", 1, "two", k=3, meta={"a": 1}, **options)
    queue = Queue("default", connection=redis_conn)
    theirs = queue.enqueue(
        "runtime_jobs.echo",
        1,
        "two",
        k=3,
        meta={"a": 1, "enqueued_by": ours.meta["enqueued_by"]},
        **options,
    )
    ours_raw = redis_conn.hgetall(ours.key)
    theirs_raw = redis_conn.hgetall(theirs.key)
    # A new hash leaves out the empty strings RQ writes only to clear an older hash
    # (RQ reads a missing field like an empty one); everything else is byte-identical.
    theirs_non_empty = {field: value for field, value in theirs_raw.items() if value != b""}
    assert _comparable(ours_raw) == _comparable(theirs_non_empty)
    assert set(ours_raw) - set(theirs_raw) == {scripts.TOKEN_FIELD.encode()}
    assert {b"started_at", b"worker_name"} <= set(theirs_raw) - set(ours_raw)
    assert 890 < redis_conn.ttl(ours.key) <= 900
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [ours.id.encode(), theirs.id.encode()]
    assert redis_conn.smembers("rq:queues") == {b"rq:queue:default"}
    fetched = Job.fetch(ours.id, connection=redis_conn)
    assert fetched.get_status() == JobStatus.QUEUED
    assert (fetched.func_name, fetched.args, fetched.kwargs) == (
        "runtime_jobs.echo",
        (1, "two"),
        {"k": 3},
    )
    assert fetched.timeout == 30 and fetched.result_ttl == 60 and fetched.failure_ttl == 70
    assert fetched.retries_left == 2 and fetched.retry_intervals == [1, 2]
    assert fetched.origin == "default" and fetched.enqueued_at is not None


def test_explicit_job_id_overwrites_like_rq(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    first = rqjobs.enqueue("default", "runtime_jobs.record", "a", job_id="fixed-id")
    redis_conn.hset(first.key, mapping={"worker_name": "w1", "started_at": "2020-01-01T00:00:00Z"})
    again = rqjobs.enqueue("default", "runtime_jobs.record", "b", job_id="fixed-id")
    # RQ semantics: the hash is overwritten (stale fields cleared) and the id pushed again.
    assert redis_conn.hget(again.key, "worker_name") == b""
    assert redis_conn.hget(again.key, "started_at") == b""
    assert Job.fetch("fixed-id", connection=redis_conn).args == ("b",)
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [b"fixed-id", b"fixed-id"]


def test_meta_records_who_enqueued(rqjobs_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_ROLE", "api")
    job = rqjobs.enqueue("default", "runtime_jobs.record", "m", meta={"tenant": 7})
    meta = Job.fetch(job.id, connection=rqjobs.get_redis()).meta
    assert meta["tenant"] == 7
    assert meta["enqueued_by"] == {"role": "api", "host": socket.gethostname(), "pid": os.getpid()}


def test_no_ttl_by_default_and_at_front(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    first = rqjobs.enqueue("default", "runtime_jobs.record", "1")
    urgent = rqjobs.enqueue(rqjobs.get_queue("default"), "runtime_jobs.record", "2", at_front=True)
    assert redis_conn.ttl(first.key) == -1
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [urgent.id.encode(), first.id.encode()]


def test_explicit_args_and_kwargs_forms(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue("default", "runtime_jobs.echo", args=(1, 2), kwargs={"timeout": 5})
    fetched = Job.fetch(job.id, connection=redis_conn)
    assert fetched.args == (1, 2) and fetched.kwargs == {"timeout": 5}
    with pytest.raises(ValueError, match="Extra positional"):
        rqjobs.enqueue("default", "runtime_jobs.echo", 1, args=(2,))


def test_unique_job_id(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    rqjobs.enqueue("default", "runtime_jobs.record", "u", job_id="only-once", unique=True)
    with pytest.raises(DuplicateJobError):
        rqjobs.enqueue("default", "runtime_jobs.record", "u", job_id="only-once", unique=True)
    assert redis_conn.llen("rq:queue:default") == 1
    assert rqjobs.stats.get_counters()["enqueued"] == {"default": 1}


def test_counters_are_in_redis(rqjobs_env: str) -> None:
    for _ in range(3):
        rqjobs.enqueue("default", "runtime_jobs.record", "c")
    rqjobs.enqueue("high", "runtime_jobs.record", "c")
    assert rqjobs.stats.get_counters() == {"enqueued": {"default": 3, "high": 1}, "dedupe_hits": {}}


def test_a_resent_script_call_pushes_once(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    queue = rqjobs.get_queue("default")
    from rqjobs.enqueue import build_job, job_fields

    job = build_job(queue, "runtime_jobs.record", ("r",), {}, {})
    keys = [job.key, queue.key, Queue.redis_queues_keys, scripts.COUNTERS_ENQUEUED]
    argv = ["tok", "R", -1, "default", "0", job.id, job_fields(job, "tok")]
    assert scripts.run(scripts.ENQUEUE, redis_conn, keys, argv) == scripts.APPLIED
    assert scripts.run(scripts.ENQUEUE, redis_conn, keys, argv) == scripts.ALREADY_APPLIED
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [job.id.encode()]
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"1"


def test_main_module_functions_are_refused(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    def local() -> None:
        pass

    local.__module__ = "__main__"
    with pytest.raises(ValueError, match="__main__"):
        rqjobs.enqueue("default", local)
    assert redis_conn.dbsize() == 0


def test_depends_on_uses_rq_dependency_logic(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    parent = rqjobs.enqueue("default", "runtime_jobs.record", "parent")
    child = rqjobs.enqueue("default", "runtime_jobs.record", "child", depends_on=parent)
    assert child.get_status() == JobStatus.DEFERRED
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [parent.id.encode()]
    assert redis_conn.zcard("rq:deferred:default") == 1
    assert rqjobs.stats.get_counters()["enqueued"] == {"default": 2}
    done = run_worker(rqjobs_env, ["default"])
    assert done.returncode == 0, done.stderr
    assert redis_conn.hgetall(RUNS_KEY) == {b"parent": b"1", b"child": b"1"}
    assert Job.fetch(child.id, connection=redis_conn).get_status() == JobStatus.FINISHED


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_jobs_run_in_a_real_forking_worker(
    serializer: str,
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RQJOBS_SERIALIZER", serializer)
    plain = rqjobs.enqueue("default", "runtime_jobs.echo", 1, "two", flag=True)
    deduped = rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.record", "evt-1", dedupe_key=f"wh:{serializer}:evt-1"
    )
    forked = rqjobs.enqueue("default", "runtime_jobs.use_rqjobs_connection", serializer)
    assert deduped is not None
    if serializer == "json":
        assert redis_conn.hget(plain.key, "data") is not None
        # JSON trade-off: tuples come back as lists.
        assert Job.fetch(plain.id, connection=redis_conn, serializer=JSONSerializer).args == [
            1,
            "two",
        ]
    done = run_worker(rqjobs_env, ["default"], serializer=serializer, env={"REDIS_URL": rqjobs_env})
    assert done.returncode == 0, done.stderr
    runs = redis_conn.hgetall(RUNS_KEY)
    assert runs == {repr(((1, "two"), [("flag", True)])).encode(): b"1", b"evt-1": b"1"}
    for job in (plain, deduped, forked):
        status = Job.fetch(
            job.id, connection=redis_conn, serializer=rqjobs.get_serializer()
        ).get_status()
        assert status == JobStatus.FINISHED
    # The work horse (a forked child of the worker) used rqjobs.get_redis() itself.
    assert int(redis_conn.hget(FORK_KEY, serializer)) > 0
