"""get_queue_stats: RQ's numbers, one read-only pipeline; get_counters across processes."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
import rqjobs
from rq import Queue, Retry
from rq.job import Job
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from runtime_support import run_worker

READ_ONLY = {"llen", "zcard", "smembers", "hgetall", "ping", "hello", "client|setinfo", "info"}


def _commands(redis_conn) -> set[str]:  # type: ignore[no-untyped-def]
    return {name.removeprefix("cmdstat_") for name in redis_conn.info("commandstats")}


def _populate(url: str, redis_conn) -> Queue:  # type: ignore[no-untyped-def]
    queue = rqjobs.get_queue("default")
    for index in range(3):
        rqjobs.enqueue(queue, "runtime_jobs.record", f"ok{index}")
    rqjobs.enqueue(queue, "runtime_jobs.fail", "bad")
    assert run_worker(url, ["default"]).returncode == 0  # 3 finished, 1 failed
    parent = rqjobs.enqueue(queue, "runtime_jobs.record", "parent")
    rqjobs.enqueue(queue, "runtime_jobs.record", "child", depends_on=parent)  # deferred
    queue.enqueue_in(timedelta(hours=1), "runtime_jobs.record", "later")  # scheduled
    doomed = rqjobs.enqueue(queue, "runtime_jobs.record", "doomed")
    doomed.cancel()  # canceled
    rqjobs.enqueue(queue, "runtime_jobs.record", "waiting")
    # A job a worker holds right now: RQ 3 keeps "<job id>:<execution id>" in rq:wip:<queue>.
    started = rqjobs.enqueue("other", "runtime_jobs.record", "running")
    redis_conn.zadd("rq:wip:other", {f"{started.id}:exec1": 10**10})
    return queue


def test_stats_equal_rq_registries(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    queue = _populate(rqjobs_env, redis_conn)
    stats = rqjobs.get_queue_stats(["default", "other"])
    for registry_class in (
        FinishedJobRegistry,
        FailedJobRegistry,
        CanceledJobRegistry,
        StartedJobRegistry,
        DeferredJobRegistry,
        ScheduledJobRegistry,
    ):
        registry_class(queue.name, connection=redis_conn).cleanup()
    assert stats["default"] == {
        "queued": queue.count,
        "started": StartedJobRegistry(queue=queue).count,
        "finished": FinishedJobRegistry(queue=queue).count,
        "failed": FailedJobRegistry(queue=queue).count,
        "deferred": DeferredJobRegistry(queue=queue).count,
        "scheduled": ScheduledJobRegistry(queue=queue).count,
        "canceled": CanceledJobRegistry(queue=queue).count,
    }
    assert stats["default"] == {
        "queued": 2,
        "started": 0,
        "finished": 3,
        "failed": 1,
        "deferred": 1,
        "scheduled": 1,
        "canceled": 1,
    }
    assert stats["other"]["queued"] == 1 and stats["other"]["started"] == 1


def test_stats_write_nothing(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    _populate(rqjobs_env, redis_conn)
    rqjobs.get_redis().ping()
    before = {key: (redis_conn.type(key), redis_conn.ttl(key) > 0) for key in redis_conn.keys("*")}
    redis_conn.config_resetstat()
    rqjobs.get_queue_stats()
    rqjobs.get_queue_stats(["default", "nope"])
    rqjobs.stats.get_counters()
    used = _commands(redis_conn) - {"config|resetstat", "info"}
    assert used <= READ_ONLY, used
    assert {"llen", "zcard", "smembers"} <= used
    after = {key: (redis_conn.type(key), redis_conn.ttl(key) > 0) for key in redis_conn.keys("*")}
    assert after == before


def test_queues_none_lists_rq_queues_and_the_allow_list(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rqjobs.enqueue("emails", "runtime_jobs.record", "x")
    Queue("legacy", connection=redis_conn).enqueue("runtime_jobs.record", "y")
    monkeypatch.setenv("RQJOBS_QUEUES", "emails,legacy,idle")
    stats = rqjobs.get_queue_stats()
    assert sorted(stats) == ["emails", "idle", "legacy"]
    assert stats["idle"] == dict.fromkeys(rqjobs.stats.STATUSES, 0)
    assert stats["emails"]["queued"] == stats["legacy"]["queued"] == 1
    with pytest.raises(TypeError):
        rqjobs.get_queue_stats("emails")


def test_expired_entries_are_counted_until_rq_cleans_up(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    # Documented: the counts are ZCARDs; RQ's cleanup removes expired finished entries.
    redis_conn.sadd("rq:queues", "rq:queue:default")
    redis_conn.zadd("rq:finished:default", {"gone": 1, "kept": 10**10})
    assert rqjobs.get_queue_stats(["default"])["default"]["finished"] == 2
    FinishedJobRegistry("default", connection=redis_conn).cleanup()
    assert rqjobs.get_queue_stats(["default"])["default"]["finished"] == 1


def _producer(url: str, count: int) -> None:
    import os

    os.environ["REDIS_URL"] = url
    import rqjobs as child_rqjobs

    child_rqjobs.reset_redis()
    for index in range(count):
        child_rqjobs.enqueue_with_dedupe(
            "multi", "runtime_jobs.record", str(index), dedupe_key=f"multi:{index % 50}"
        )


def test_counters_agree_across_processes(rqjobs_env: str) -> None:
    context = multiprocessing.get_context("spawn")
    producers = [context.Process(target=_producer, args=(rqjobs_env, 100)) for _ in range(3)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join(60)
        assert producer.exitcode == 0
    assert rqjobs.stats.get_counters() == {"enqueued": {"multi": 50}, "dedupe_hits": {"multi": 250}}
    assert rqjobs.get_queue_stats(["multi"])["multi"]["queued"] == 50


def test_retry_scheduled_counts(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = rqjobs.enqueue("default", "runtime_jobs.fail", "r", retry=Retry(max=2, interval=300))
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    stats = rqjobs.get_queue_stats(["default"])["default"]
    assert stats["scheduled"] == 1 and stats["failed"] == 0 and stats["queued"] == 0
    assert Job.fetch(job.id, connection=redis_conn).get_status() == "scheduled"
