"""The lean job path (rqjobs.fastjob): the hash RQ writes, field by field, run by real workers.

Every test enqueues each shape twice: the first call of a shape is built by RQ and checks
the lean builder against it; the second is built lean. Both are compared with what RQ's own
``Queue.enqueue`` writes for the same inputs (non-empty fields byte-identical).
"""

from __future__ import annotations

import os.path

import pytest
import rqjobs
from rq import Callback, Queue, Repeat, Retry
from rq.job import Job, JobStatus
from rqjobs import fastjob, scripts
from runtime_jobs import RUNS_KEY, record
from runtime_support import run_worker

VOLATILE = {b"created_at", b"enqueued_at", scripts.TOKEN_FIELD.encode()}


@pytest.fixture(autouse=True)
def _fresh_shapes() -> None:
    fastjob.reset()


def _comparable(raw: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {f: v for f, v in raw.items() if f not in VOLATILE and v != b""}


def _rq_hash(redis_conn, func, args, kwargs, meta, **options):  # type: ignore[no-untyped-def]
    theirs = Queue("default", connection=redis_conn).enqueue(
        func, *args, meta=meta, **kwargs, **options
    )
    return redis_conn.hgetall(theirs.key)


class Greeter:
    def __call__(self, name: str) -> str:
        return name


SHAPES = [
    pytest.param("runtime_jobs.echo", {}, id="string"),
    pytest.param(record, {}, id="function"),
    pytest.param(os.path.join, {}, id="builtin-module-function"),
    pytest.param(
        "runtime_jobs.echo",
        dict(
            job_timeout=30,
            result_ttl=60,
            failure_ttl=70,
            ttl=900,
            retry=Retry(max=2, interval=[1, 2]),
            on_success=Callback("runtime_jobs.record", timeout=5),
            on_failure=Callback("runtime_jobs.user_on_failure"),
            on_stopped=Callback("runtime_jobs.record"),
        ),
        id="all-static-options",
    ),
    pytest.param("runtime_jobs.echo", dict(job_timeout="1h", description="mine"), id="strings"),
    pytest.param("runtime_jobs.echo", dict(at_front=True), id="at-front"),
]


@pytest.mark.parametrize(("func", "options"), SHAPES)
def test_lean_hash_is_rqs_field_by_field(rqjobs_env: str, redis_conn, func, options) -> None:  # type: ignore[no-untyped-def]
    first = rqjobs.enqueue("default", func, "a", 1, k="x" * 100, meta={"m": [1]}, **options)
    assert fastjob.stats["calibrated"] >= 1
    built_lean = fastjob.stats["lean"]
    lean = rqjobs.enqueue("default", func, "b", 2, k="y" * 100, meta={"m": [2]}, **options)
    assert fastjob.stats["lean"] == built_lean + 1  # the shape is served lean now
    for job, arg, number, long in ((first, "a", 1, "x" * 100), (lean, "b", 2, "y" * 100)):
        ours = redis_conn.hgetall(job.key)
        theirs = _rq_hash(
            redis_conn, func, (arg, number), {"k": long},
            {"m": [number], "enqueued_by": job.meta["enqueued_by"]}, **options,
        )
        assert _comparable(ours) == _comparable(theirs)
        assert set(ours) - set(theirs) == {scripts.TOKEN_FIELD.encode()}
    # The returned Job is the one RQ would hand back.
    assert lean.args == ("b", 2) and lean.kwargs == {"k": "y" * 100}
    assert lean.meta["m"] == [2] and lean.origin == "default"
    assert lean.get_status(refresh=False) == JobStatus.QUEUED
    fetched = Job.fetch(lean.id, connection=redis_conn)
    assert fetched.description == lean.description and fetched.func_name == lean.func_name


def test_explicit_job_id_keeps_the_clearing_fields(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    rqjobs.enqueue("default", "runtime_jobs.record", "a", job_id="fixed-1")
    redis_conn.hset("rq:job:fixed-2", mapping={"worker_name": "w", "started_at": "x"})
    rqjobs.enqueue("default", "runtime_jobs.record", "b", job_id="fixed-2")
    # An explicit id may overwrite an older job: RQ's empty values clear its stale fields.
    assert redis_conn.hget("rq:job:fixed-2", "worker_name") == b""
    assert redis_conn.hget("rq:job:fixed-2", "started_at") == b""
    assert Job.fetch("fixed-2", connection=redis_conn).args == ("b",)


def test_dedupe_lean_hash_equals_the_rq_built_one(rqjobs_env: str, redis_conn, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def deliver() -> dict[bytes, bytes]:
        job = rqjobs.enqueue_with_dedupe(
            "default", "runtime_jobs.record", "e1", dedupe_key="lean:e1", job_timeout=40,
            release_on_failure=False, on_success=Callback("runtime_jobs.echo"),
        )
        assert job is not None
        raw = redis_conn.hgetall(job.key)
        redis_conn.flushall()
        return raw

    with monkeypatch.context() as patch:
        patch.setattr(fastjob, "lean_template", lambda key: None)  # RQ's build only
        rq_built = deliver()
    fastjob.reset()
    deliver()  # calibrates
    built_lean = fastjob.stats["lean"]
    lean_built = deliver()
    assert fastjob.stats["lean"] == built_lean + 1
    assert _comparable(lean_built) == _comparable(rq_built)
    assert lean_built[b"rqjobs_keep"] == b"1"


def test_a_shape_that_does_not_match_stays_on_rqs_path(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, monkeypatch
) -> None:
    monkeypatch.setattr(fastjob, "_rq_call_string", lambda *a, **k: "something else")
    jobs = [rqjobs.enqueue("default", "runtime_jobs.echo", n) for n in range(3)]
    assert fastjob.stats["mismatch"] >= 1
    for number, job in enumerate(jobs):
        assert redis_conn.hget(job.key, "description") == f"runtime_jobs.echo({number})".encode()


@pytest.mark.parametrize(
    ("func", "options"),
    [
        pytest.param(Greeter(), {}, id="callable-object"),
        pytest.param("runtime_jobs.echo", {"repeat": Repeat(times=1, interval=5)}, id="repeat"),
        pytest.param(
            "runtime_jobs.echo", {"on_success": rqjobs.dedupe.release_lock_on_failure},
            id="callable-callback",
        ),
    ],
)
def test_uncovered_options_fall_back_to_rq(rqjobs_env: str, redis_conn, func, options) -> None:  # type: ignore[no-untyped-def]
    assert fastjob.shape_key(rqjobs.get_queue("default"), func, options, True, ()) is None
    job = rqjobs.enqueue("default", func, "z", **options)
    meta = {"enqueued_by": job.meta["enqueued_by"]}
    theirs = _rq_hash(redis_conn, func, ("z",), {}, meta, **options)
    assert _comparable(redis_conn.hgetall(job.key)) == _comparable(theirs)


def test_the_encoded_command_is_what_redis_py_sends(rqjobs_env: str) -> None:
    client = rqjobs.get_redis()
    keys = ["rq:job:1", "rq:queue:default"]
    args = ["token", 3, -1, 2.5, b"\x00\xffbinary", "é"]
    encoded = scripts.encode_call(scripts.ENQUEUE, keys, args)
    sha = scripts._shas[scripts.ENQUEUE]
    connection = client.connection_pool.get_connection()
    try:
        expected = b"".join(connection.pack_command("EVALSHA", sha, len(keys), *keys, *args))
    finally:
        client.connection_pool.release(connection)
    assert encoded == expected


@pytest.mark.smoke
def test_real_workers_run_lean_jobs(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    for number in range(3):
        rqjobs.enqueue("default", "runtime_jobs.record", f"plain-{number}", job_timeout=60)
        rqjobs.enqueue("default", record, f"func-{number}", result_ttl=600)
        rqjobs.enqueue_with_dedupe(
            "default", "runtime_jobs.record", f"dd-{number}", dedupe_key=f"lean:dd:{number}"
        )
    assert fastjob.stats["calibrated"] >= 3
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    runs = {k.decode(): int(v) for k, v in redis_conn.hgetall(RUNS_KEY).items()}
    assert runs == {f"{kind}-{n}": 1 for kind in ("plain", "func", "dd") for n in range(3)}
    # The success callback ran on the lean dedupe jobs: their locks are marked done.
    for number in range(3):
        assert redis_conn.get(f"job_lock:lean:dd:{number}").startswith(b"done:")
        assert rqjobs.enqueue_with_dedupe(
            "default", "runtime_jobs.record", "again", dedupe_key=f"lean:dd:{number}"
        ) is None


def test_a_probe_that_finds_the_key_free_sends_the_job(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    first = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "p", dedupe_key="probe:1")
    assert first is not None
    assert rqjobs.enqueue_with_dedupe(
        "default", "runtime_jobs.record", "p", dedupe_key="probe:1"
    ) is None  # a probe (the key is remembered): answered without a payload
    hits = redis_conn.hget(scripts.COUNTERS_DEDUPE_HITS, "default")
    assert hits == b"1"
    first.delete()  # rq-dashboard's delete: the job is gone, the lock stays
    again = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "p", dedupe_key="probe:1")
    assert again is not None and again.id == first.id  # the probe found it free: job sent
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [first.id.encode()]
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert redis_conn.hget(RUNS_KEY, "p") == b"1"


def test_a_lean_job_uses_its_queues_connection(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    rqjobs.enqueue("default", "runtime_jobs.echo", 1)  # calibrates the shape
    rqjobs.reset_redis()  # a new client (another test, another server) keeps the shape
    job = rqjobs.enqueue("default", "runtime_jobs.echo", 2)
    assert job.connection is rqjobs.get_queue("default").connection
    assert job.get_status() == JobStatus.QUEUED
