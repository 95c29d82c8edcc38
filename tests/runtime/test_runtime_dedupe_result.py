"""enqueue_with_dedupe_result: a duplicate names the job that holds the event (issue 15, item 6)."""

from __future__ import annotations

import threading

import pytest
import rqjobs
from rq import Queue
from rq.job import Job, JobStatus
from rqjobs import DedupeResult, enqueue_with_dedupe_result
from runtime_support import run_worker


def test_a_duplicate_names_the_first_job(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    key = "webhook:stripe:evt_1"
    first = enqueue_with_dedupe_result("webhooks", "runtime_jobs.record", "evt_1", dedupe_key=key)
    assert isinstance(first, DedupeResult)
    assert first.job is not None and not first.duplicate
    assert first.holder_id == first.job.id == rqjobs.generate_deterministic_job_id(key)
    assert first.state == "free" and first.dedupe_key == key and first.queue == "webhooks"
    assert first.holder() is first.job

    again = enqueue_with_dedupe_result("webhooks", "runtime_jobs.record", "evt_1", dedupe_key=key)
    assert again.duplicate and again.job is None
    assert again.holder_id == first.job.id
    assert again.state == "queued" and "waiting in its queue" in again.reason
    holder = again.holder()
    assert holder is not None and holder.id == first.job.id
    assert holder.get_status() == JobStatus.QUEUED
    # The same Redis work as enqueue_with_dedupe: one job, one hit counted.
    assert redis_conn.lrange("rq:queue:webhooks", 0, -1) == [first.job.id.encode()]
    assert rqjobs.stats.get_counters() == {
        "enqueued": {"webhooks": 1},
        "dedupe_hits": {"webhooks": 1},
    }
    # The documented contract of the plain function is unchanged: None on a duplicate.
    assert (
        rqjobs.enqueue_with_dedupe("webhooks", "runtime_jobs.record", "evt_1", dedupe_key=key)
        is None
    )


def test_after_the_job_finished_the_done_lock_names_it(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    key = "webhook:stripe:evt_done"
    first = enqueue_with_dedupe_result(
        "done", "runtime_jobs.record", "evt_done", dedupe_key=key, result_ttl=0
    )
    assert first.job is not None
    done = run_worker(rqjobs_env, ["done"], simple=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # result_ttl=0: rq deleted the hash; the lock says done:<token> for the rest of the window.
    assert not redis_conn.exists(first.job.key)
    assert redis_conn.get(f"job_lock:{key}").startswith(b"done:")

    again = enqueue_with_dedupe_result("done", "runtime_jobs.record", "evt_done", dedupe_key=key)
    assert again.duplicate and again.job is None
    assert again.holder_id == first.job.id
    assert again.state == "finished"
    assert again.holder() is None  # its hash is gone: the id is all there is to report


def test_the_holder_while_the_job_is_kept_after_finishing(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    key = "webhook:stripe:evt_kept"
    first = enqueue_with_dedupe_result("kept", "runtime_jobs.record", "evt_kept", dedupe_key=key)
    assert first.job is not None
    done = run_worker(rqjobs_env, ["kept"], simple=True)
    assert done.returncode == 0, done.stdout + done.stderr
    again = enqueue_with_dedupe_result("kept", "runtime_jobs.record", "evt_kept", dedupe_key=key)
    assert again.duplicate and again.holder_id == first.job.id and again.state == "finished"
    holder = again.holder()
    assert holder is not None and holder.get_status() == JobStatus.FINISHED


def test_a_redelivery_after_a_failure_is_accepted_and_says_why(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    key = "webhook:stripe:evt_fail"
    first = enqueue_with_dedupe_result("fails", "runtime_jobs.fail", "evt_fail", dedupe_key=key)
    assert first.job is not None
    run_worker(rqjobs_env, ["fails"], simple=True)
    assert Job.fetch(first.job.id, connection=redis_conn).get_status() == JobStatus.FAILED
    again = enqueue_with_dedupe_result("fails", "runtime_jobs.fail", "evt_fail", dedupe_key=key)
    assert not again.duplicate and again.job is not None
    assert again.holder_id == again.job.id == first.job.id  # the same deterministic id, rerun
    assert again.state == "failed" and again.reason == "the job failed"


def test_depends_on_takes_the_transaction_path_and_reports_too(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    parent = rqjobs.enqueue("deps", "runtime_jobs.record", "parent")
    key = "webhook:deps:1"
    first = enqueue_with_dedupe_result(
        "deps", "runtime_jobs.record", "child", dedupe_key=key, depends_on=parent
    )
    assert first.job is not None and not first.duplicate
    again = enqueue_with_dedupe_result(
        "deps", "runtime_jobs.record", "child", dedupe_key=key, depends_on=parent
    )
    assert again.duplicate and again.holder_id == first.job.id and again.state == "deferred"


def test_a_django_rq_style_queue_object_is_used_for_the_holder(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    queue = Queue("objects", connection=redis_conn)
    key = "webhook:object:1"
    first = enqueue_with_dedupe_result(queue, "runtime_jobs.record", "o", dedupe_key=key)
    again = enqueue_with_dedupe_result(queue, "runtime_jobs.record", "o", dedupe_key=key)
    assert first.job is not None and again.duplicate
    holder = again.holder()
    assert holder is not None and holder.id == first.job.id


def test_a_bad_key_raises_before_anything_is_written(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(rqjobs.InvalidDedupeKeyError):
        enqueue_with_dedupe_result("default", "runtime_jobs.record", "x", dedupe_key="a::b")
    assert redis_conn.keys("*") == []


def test_racing_producers_one_job_every_duplicate_names_it(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    key = "webhook:race:1"
    producers = 16
    barrier = threading.Barrier(producers)
    results: list[DedupeResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def produce() -> None:
        try:
            barrier.wait(timeout=30)
            result = enqueue_with_dedupe_result("race", "runtime_jobs.record", "r", dedupe_key=key)
            with lock:
                results.append(result)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=produce) for _ in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == producers
    accepted = [result for result in results if not result.duplicate]
    assert len(accepted) == 1
    winner = accepted[0].job
    assert winner is not None
    duplicates = [result for result in results if result.duplicate]
    assert len(duplicates) == producers - 1
    assert all(result.holder_id == winner.id and result.job is None for result in duplicates)
    assert {result.state for result in duplicates} == {"queued"}
    assert redis_conn.lrange("rq:queue:race", 0, -1) == [winner.id.encode()]
