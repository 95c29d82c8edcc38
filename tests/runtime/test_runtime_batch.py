"""enqueue_many / enqueue_many_with_dedupe: one round trip, the single call's guarantees per job."""

from __future__ import annotations

import pytest
import redis
import rqjobs
from rq.job import Job
from rqjobs import JobSpec, scripts
from runtime_jobs import RUNS_KEY
from runtime_support import ReplyDroppingProxy, run_worker, text


def _queued(client: redis.Redis) -> list[str]:
    return [text(job_id) for job_id in client.lrange("rq:queue:default", 0, -1)]


def _runs(client: redis.Redis) -> dict[str, int]:
    return {text(k): int(v) for k, v in client.hgetall(RUNS_KEY).items()}


@pytest.mark.smoke
def test_enqueue_many_enqueues_in_order_and_workers_run_them(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    jobs = rqjobs.enqueue_many(
        "default",
        [JobSpec("runtime_jobs.record", f"m{n}", job_timeout=60) for n in range(5)]
        + [("runtime_jobs.record", ("tuple",), {"result_ttl": 30})],
    )
    assert _queued(redis_conn) == [job.id for job in jobs]
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"6"
    assert Job.fetch(jobs[-1].id, connection=redis_conn).result_ttl == 30
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert _runs(redis_conn) == {**{f"m{n}": 1 for n in range(5)}, "tuple": 1}


def test_enqueue_many_refuses_what_it_does_not_cover(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="depends_on"):
        rqjobs.enqueue_many(
            "default",
            [JobSpec("runtime_jobs.record", "a"), JobSpec("runtime_jobs.record", "b", unique=True)],
        )
    assert redis_conn.keys("*") == []  # validated before anything was written


@pytest.mark.smoke
def test_dedupe_batch_answers_per_job_in_order(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    held = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "e0", dedupe_key="b:e0")
    assert held is not None
    keys = ["e0", "e1", "e2", "e1", "e3", "e3", "e3"]
    results = rqjobs.enqueue_many_with_dedupe(
        "default", [JobSpec("runtime_jobs.record", k, dedupe_key=f"b:{k}") for k in keys]
    )
    accepted = [r is not None for r in results]
    assert accepted == [False, True, True, False, True, False, False]
    assert results[1] is not None and results[1].meta["dedupe_key"] == "b:e1"
    assert _queued(redis_conn) == [held.id] + [r.id for r in results if r is not None]
    assert redis_conn.hget(scripts.COUNTERS_DEDUPE_HITS, "default") == b"4"
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    assert _runs(redis_conn) == {"e0": 1, "e1": 1, "e2": 1, "e3": 1}
    # Finished inside the window: the whole batch again is all duplicates.
    again = rqjobs.enqueue_many_with_dedupe(
        "default", [JobSpec("runtime_jobs.record", k, dedupe_key=f"b:{k}") for k in keys]
    )
    assert again == [None] * len(keys)


def test_dedupe_batch_options_per_job_and_for_the_batch(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    results = rqjobs.enqueue_many_with_dedupe(
        "default",
        [
            JobSpec("runtime_jobs.record", "o1", dedupe_key="o:1"),
            JobSpec("runtime_jobs.record", "o2", dedupe_key="o:2", ttl=30, job_ttl=500),
        ],
        ttl=120,
        release_on_failure=False,
    )
    first, second = results
    assert first is not None and second is not None
    assert 110 < redis_conn.ttl("job_lock:o:1") <= 120
    assert 20 < redis_conn.ttl("job_lock:o:2") <= 30
    assert 490 < redis_conn.ttl(second.key) <= 500 and redis_conn.ttl(first.key) == -1
    assert redis_conn.hget(first.key, "rqjobs_keep") == b"1"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (JobSpec("runtime_jobs.record", "x"), "dedupe_key"),
        (JobSpec("runtime_jobs.record", "x", dedupe_key="bad::key"), "empty part"),
        (JobSpec("runtime_jobs.record", "x", dedupe_key="k", job_id="j"), "job_id"),
        (JobSpec("runtime_jobs.record", "x", dedupe_key="k", ttl=0), "ttl"),
    ],
)
def test_dedupe_batch_validates_everything_first(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, spec, message
) -> None:
    with pytest.raises(ValueError, match=message):
        rqjobs.enqueue_many_with_dedupe(
            "default", [JobSpec("runtime_jobs.record", "ok", dedupe_key="fine"), spec]
        )
    assert redis_conn.keys("*") == []


def test_lost_reply_to_a_batch_enqueues_each_job_once(
    proxy: ReplyDroppingProxy,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", proxy.url)
    rqjobs.reset_redis()
    try:
        rqjobs.get_redis().ping()
        proxy.drop_reply_to(b"lost-batch-3")
        jobs = rqjobs.enqueue_many(
            "default", [JobSpec("runtime_jobs.record", f"lost-batch-{n}") for n in range(6)]
        )
        assert proxy.dropped == 1  # Redis applied the batch, the reply was lost, re-sent
        assert _queued(redis_conn) == [job.id for job in jobs]
        proxy.drop_reply_to(b"lost-dd-2")
        results = rqjobs.enqueue_many_with_dedupe(
            "default",
            [JobSpec("runtime_jobs.record", f"lost-dd-{n}", dedupe_key=f"l:{n}") for n in range(4)],
        )
        assert proxy.dropped == 2
        assert all(result is not None for result in results)  # own writes, not duplicates
        assert _queued(redis_conn)[len(jobs) :] == [r.id for r in results if r is not None]
        assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"10"
        assert redis_conn.hget(scripts.COUNTERS_DEDUPE_HITS, "default") is None
    finally:
        rqjobs.reset_redis()


def test_a_duplicate_is_answered_while_writes_are_refused(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "r1", dedupe_key="ro:1")
    redis_conn.config_set("maxmemory-policy", "noeviction")
    redis_conn.config_set("maxmemory", "1")
    try:
        results = rqjobs.enqueue_many_with_dedupe(
            "default", [JobSpec("runtime_jobs.record", "r1", dedupe_key="ro:1")]
        )
        assert results == [None]
        with pytest.raises(rqjobs.RedisOutOfMemory):
            rqjobs.enqueue_many_with_dedupe(
                "default", [JobSpec("runtime_jobs.record", "r2", dedupe_key="ro:2")]
            )
    finally:
        redis_conn.config_set("maxmemory", "0")
    assert _queued(redis_conn) == [text(redis_conn.lindex("rq:queue:default", 0))]
