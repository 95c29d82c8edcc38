"""``rqjobs.aio`` against a real Redis and real RQ workers: the same keys, scripts, answers
and deadline as the sync runtime, without blocking the event loop.

Run with ``pytest -s`` to see the measured deadline timings.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import rqjobs
from rq.job import Job
from rqjobs import aio
from rqjobs.errors import (
    InvalidDedupeKeyError,
    RedisUnavailable,
    ReplicationTimeout,
    UnknownQueueError,
)
from rqjobs.replication import require_replicas
from runtime_jobs import RUNS_KEY
from runtime_support import run_worker, start_private_redis

QUEUE = "aio"
DYNAMIC = {b"created_at", b"enqueued_at", b"rqjobs_token", b"data", b"description", b"meta"}


def runs(conn: Any) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in conn.hgetall(RUNS_KEY).items()}


def test_aio_jobs_run_under_a_real_rq_worker(rqjobs_env: str, redis_conn: Any) -> None:
    """Jobs enqueued through aio (plain and dedupe) are run by an unmodified ``rq worker``."""

    async def produce() -> tuple[Job, Job | None]:
        plain = await aio.enqueue(QUEUE, "runtime_jobs.record", "aio-plain")
        deduped = await aio.enqueue_with_dedupe(
            QUEUE, "runtime_jobs.record", "aio-dedupe", dedupe_key="aio:worker:1"
        )
        return plain, deduped

    plain, deduped = asyncio.run(produce())
    assert deduped is not None
    assert deduped.id == rqjobs.generate_deterministic_job_id("aio:worker:1")
    result = run_worker(rqjobs_env, [QUEUE])
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs(redis_conn) == {"aio-plain": 1, "aio-dedupe": 1}
    for job_id in (plain.id, deduped.id):
        job = Job.fetch(job_id, connection=redis_conn)
        assert job.get_status() == "finished"
    assert redis_conn.get("job_lock:aio:worker:1").startswith(b"done:")  # success callback ran


def test_aio_writes_the_job_hash_the_sync_call_writes(rqjobs_env: str, redis_conn: Any) -> None:
    """Same function, arguments and options: the same hash fields (timestamps, token aside)."""
    options = {"job_timeout": 30, "result_ttl": 100, "meta": {"source": "test"}}
    sync_job = rqjobs.enqueue(QUEUE, "runtime_jobs.echo", 1, "two", three=3, **options)
    aio_job = asyncio.run(aio.enqueue(QUEUE, "runtime_jobs.echo", 1, "two", three=3, **options))
    sync_hash = redis_conn.hgetall(sync_job.key)
    aio_hash = redis_conn.hgetall(aio_job.key)
    assert set(sync_hash) == set(aio_hash)
    static = {field for field in sync_hash if field not in DYNAMIC}
    assert {f: sync_hash[f] for f in static} == {f: aio_hash[f] for f in static}
    assert sync_hash[b"description"] == aio_hash[b"description"]
    fetched = Job.fetch(aio_job.id, connection=redis_conn)
    assert fetched.args == [1, "two"] or fetched.args == (1, "two")
    assert fetched.kwargs == {"three": 3}
    assert fetched.meta["source"] == "test"
    assert fetched.meta["enqueued_by"]["pid"] == os.getpid()

    sync_dedupe = rqjobs.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "s", dedupe_key="h:s")
    aio_dedupe = asyncio.run(
        aio.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "s", dedupe_key="h:a")
    )
    assert sync_dedupe is not None and aio_dedupe is not None
    assert set(redis_conn.hgetall(sync_dedupe.key)) == set(redis_conn.hgetall(aio_dedupe.key))


def test_a_duplicate_answers_none_as_sync_and_sync_and_aio_share_keys(
    rqjobs_env: str, redis_conn: Any
) -> None:
    first = rqjobs.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "e1", dedupe_key="evt:1")
    assert first is not None

    async def deliver(event: str, key: str) -> Job | None:
        return await aio.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", event, dedupe_key=key)

    assert asyncio.run(deliver("e1", "evt:1")) is None  # sync first, then aio: duplicate
    second = asyncio.run(deliver("e2", "evt:2"))
    assert second is not None
    assert second.id == rqjobs.generate_deterministic_job_id("evt:2")
    assert asyncio.run(deliver("e2", "evt:2")) is None  # aio duplicate of aio: None
    # aio first, then sync: duplicate
    assert (
        rqjobs.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "e2", dedupe_key="evt:2") is None
    )
    assert redis_conn.llen(f"rq:queue:{QUEUE}") == 2
    assert rqjobs.get_counters() == {"enqueued": {QUEUE: 2}, "dedupe_hits": {QUEUE: 3}}
    assert asyncio.run(aio.get_counters()) == rqjobs.get_counters()


def test_twenty_concurrent_aio_producers_on_one_key_make_one_job(
    rqjobs_env: str, redis_conn: Any
) -> None:
    """4 threads, each with its own event loop (and so its own client), 5 producers each."""
    results: list[Job | None] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    async def five() -> list[Job | None]:
        return await asyncio.gather(
            *[
                aio.enqueue_with_dedupe(
                    QUEUE, "runtime_jobs.record", f"race-{n}", dedupe_key="race:one"
                )
                for n in range(5)
            ]
        )

    def thread() -> None:
        try:
            barrier.wait()
            results.extend(asyncio.run(five()))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=thread) for _ in range(4)]
    for item in threads:
        item.start()
    for item in threads:
        item.join()
    assert not errors, errors
    assert len(results) == 20
    accepted = [job for job in results if job is not None]
    assert len(accepted) == 1
    assert redis_conn.llen(f"rq:queue:{QUEUE}") == 1
    assert redis_conn.hget("rqjobs:counters:dedupe_hits", QUEUE) == b"19"
    result = run_worker(rqjobs_env, [QUEUE])
    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(runs(redis_conn).values()) == 1


def test_validation_errors_write_nothing(
    rqjobs_env: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def bad(**kwargs: Any) -> Any:
        return await aio.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "x", **kwargs)

    with pytest.raises(InvalidDedupeKeyError, match="empty part"):
        asyncio.run(bad(dedupe_key="webhook:baileys:"))
    with pytest.raises(InvalidDedupeKeyError):
        asyncio.run(bad(dedupe_key="  "))
    with pytest.raises(ValueError, match="ttl"):
        asyncio.run(bad(dedupe_key="ok:1", ttl=0))
    with pytest.raises(ValueError, match="job_id"):
        asyncio.run(bad(dedupe_key="ok:1", job_id="mine"))
    with pytest.raises(ValueError, match="pipeline"):
        asyncio.run(aio.enqueue(QUEUE, "runtime_jobs.record", "x", pipeline=object()))
    monkeypatch.setenv("RQJOBS_QUEUES", "default")
    with pytest.raises(UnknownQueueError):
        asyncio.run(bad(dedupe_key="ok:1"))
    with pytest.raises(UnknownQueueError):
        asyncio.run(aio.enqueue(QUEUE, "runtime_jobs.record", "x"))
    assert redis_conn.dbsize() == 0


def test_an_rq_queue_object_is_taken_on_the_same_server_only(
    rqjobs_env: str, redis_conn: Any
) -> None:
    """A django-rq style ``rq.Queue`` on its own client for REDIS_URL's server works; one on
    another database is refused (the async client would write elsewhere)."""
    from rq import Queue

    same = Queue(QUEUE, connection=redis.Redis.from_url(rqjobs_env))
    job = asyncio.run(aio.enqueue(same, "runtime_jobs.record", "q1"))
    assert redis_conn.lrange(f"rq:queue:{QUEUE}", 0, -1) == [job.id.encode()]
    other = Queue(QUEUE, connection=redis.Redis.from_url(rqjobs_env.rsplit("/", 1)[0] + "/3"))
    with pytest.raises(ValueError, match="another server or database"):
        asyncio.run(aio.enqueue(other, "runtime_jobs.record", "q2"))
    with pytest.raises(ValueError, match="another server or database"):
        asyncio.run(aio.enqueue_with_dedupe(other, "runtime_jobs.record", "q2", dedupe_key="q:2"))
    assert redis_conn.llen(f"rq:queue:{QUEUE}") == 1


def test_depends_on_goes_through_the_sync_call_in_a_thread(
    rqjobs_env: str, redis_conn: Any
) -> None:
    async def chain() -> tuple[Job, Job, Job | None, Job | None]:
        parent = await aio.enqueue(QUEUE, "runtime_jobs.record", "parent")
        child = await aio.enqueue(QUEUE, "runtime_jobs.record", "child", depends_on=parent)
        event = await aio.enqueue_with_dedupe(
            QUEUE, "runtime_jobs.record", "dep", dedupe_key="dep:1", depends_on=parent
        )
        again = await aio.enqueue_with_dedupe(
            QUEUE, "runtime_jobs.record", "dep", dedupe_key="dep:1", depends_on=parent
        )
        return parent, child, event, again

    parent, child, event, again = asyncio.run(chain())
    assert event is not None and again is None
    assert Job.fetch(child.id, connection=redis_conn).get_status() == "deferred"
    result = run_worker(rqjobs_env, [QUEUE])
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs(redis_conn) == {"parent": 1, "child": 1, "dep": 1}


@pytest.mark.slow
def test_through_a_sentinel_url_and_after_a_promotion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``redis+sentinel://``: aio writes to the master the sentinels name, and after the
    primary is SIGKILLed and a replica promoted, to the new master (same job, same keys)."""
    from sentinel_support import SentinelCluster

    cluster = SentinelCluster(tmp_path / "sentinel", replicas=1).start()
    try:
        monkeypatch.setenv("REDIS_URL", cluster.url())
        for name in ("RQJOBS_QUEUES", "SERVICE_ROLE", "RQJOBS_MIN_REPLICAS"):
            monkeypatch.delenv(name, raising=False)
        rqjobs.reset_redis()

        async def deliver(event: str) -> Job | None:
            return await aio.enqueue_with_dedupe(
                QUEUE, "runtime_jobs.record", event, dedupe_key=f"sentinel:{event}"
            )

        async def before() -> tuple[Job | None, Job | None, dict[str, Any]]:
            first = await deliver("one")
            again = await deliver("one")
            return first, again, await aio.get_queue_stats([QUEUE])

        first, again, stats = asyncio.run(before())
        assert first is not None and again is None
        assert stats == rqjobs.get_queue_stats([QUEUE])
        primary = cluster.client(cluster.master_port)
        assert primary.lrange(f"rq:queue:{QUEUE}", 0, -1) == [first.id.encode()]
        primary.close()
        cluster.kill_primary()
        cluster.wait_promotion()

        async def after() -> Job | None:
            until = time.monotonic() + 30
            while True:
                try:
                    return await deliver("two")
                except RedisUnavailable:
                    assert time.monotonic() < until, "aio never reached the new master"
                    await asyncio.sleep(0.1)

        second = asyncio.run(after())
        assert second is not None
        promoted = cluster.client(cluster.master_port)
        assert second.id.encode() in promoted.lrange(f"rq:queue:{QUEUE}", 0, -1)
        promoted.close()
    finally:
        rqjobs.reset_redis()
        cluster.stop()


def test_stats_equal_the_sync_stats(rqjobs_env: str, redis_conn: Any) -> None:
    async def fill() -> None:
        for n in range(3):
            await aio.enqueue(QUEUE, "runtime_jobs.record", f"s{n}")
        await aio.enqueue("other", "runtime_jobs.fail", "f1")

    asyncio.run(fill())
    result = run_worker(rqjobs_env, ["other"])
    assert result.returncode == 0, result.stdout + result.stderr
    expected = rqjobs.get_queue_stats()
    assert expected[QUEUE]["queued"] == 3 and expected["other"]["failed"] == 1
    assert asyncio.run(aio.get_queue_stats()) == expected
    assert asyncio.run(aio.get_queue_stats([QUEUE, "nothing"])) == rqjobs.get_queue_stats(
        [QUEUE, "nothing"]
    )
    with pytest.raises(TypeError):
        asyncio.run(aio.get_queue_stats(QUEUE))
    code, body = asyncio.run(aio.health_report(require_scheduler=False))
    assert code == 200, body
    assert body["totals"]["queued"] == 3


def test_a_lost_reply_is_resent_and_recognised(
    proxy: Any, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis applies the script, the reply is lost, the client re-sends: one job, not two."""
    redis_conn.flushall()
    monkeypatch.setenv("REDIS_URL", proxy.url)
    monkeypatch.delenv("RQJOBS_QUEUES", raising=False)
    rqjobs.reset_redis()

    async def both() -> tuple[Job, Job | None]:
        proxy.drop_reply_to(b"EVALSHA")
        plain = await aio.enqueue(QUEUE, "runtime_jobs.record", "lost-1")
        proxy.drop_reply_to(b"EVALSHA")
        deduped = await aio.enqueue_with_dedupe(
            QUEUE, "runtime_jobs.record", "lost-2", dedupe_key="lost:2"
        )
        return plain, deduped

    try:
        plain, deduped = asyncio.run(both())
    finally:
        rqjobs.reset_redis()
    assert proxy.dropped == 2
    assert deduped is not None
    assert redis_conn.lrange(f"rq:queue:{QUEUE}", 0, -1) == [
        plain.id.encode(),
        deduped.id.encode(),
    ]
    assert redis_conn.hget("rqjobs:counters:enqueued", QUEUE) == b"2"


def test_one_client_per_event_loop_and_a_new_one_after_fork(rqjobs_env: str) -> None:
    """One client within a loop, another for another loop; a forked child makes its own."""
    held: list[Any] = []

    async def keep() -> None:
        held.append(aio.get_async_redis())
        await aio.enqueue(QUEUE, "runtime_jobs.record", "parent")

    async def again() -> Any:
        return aio.get_async_redis()

    loop_a, loop_b = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        loop_a.run_until_complete(keep())
        assert loop_b.run_until_complete(again()) is not held[0]
        assert loop_a.run_until_complete(again()) is held[0]
    finally:
        loop_a.close()
        loop_b.close()
    context = multiprocessing.get_context("fork")
    child = context.Process(target=_child_enqueue, args=(rqjobs_env,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    conn = redis.Redis.from_url(rqjobs_env)
    assert conn.llen(f"rq:queue:{QUEUE}") == 2
    conn.close()


def _child_enqueue(url: str) -> None:
    assert os.environ["REDIS_URL"] == url
    asyncio.run(aio.enqueue(QUEUE, "runtime_jobs.record", "child"))


def test_replica_acknowledgement_waits_for_the_replica_as_sync(
    private_redis: Any, redis_proc: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``require_replicas(1)``: without a replica the call raises ReplicationTimeout (the write
    is on the primary); with one attached it returns, as the sync calls do."""
    monkeypatch.setenv("REDIS_URL", f"redis://{private_redis.host}:{private_redis.port}/0")
    monkeypatch.delenv("RQJOBS_QUEUES", raising=False)
    monkeypatch.delenv("RQJOBS_MIN_REPLICAS", raising=False)
    rqjobs.reset_redis()
    primary = redis.Redis(host=private_redis.host, port=private_redis.port)

    async def both(suffix: str) -> tuple[Job, Job | None]:
        plain = await aio.enqueue(QUEUE, "runtime_jobs.record", f"r{suffix}")
        deduped = await aio.enqueue_with_dedupe(
            QUEUE, "runtime_jobs.record", f"r{suffix}", dedupe_key=f"rep:{suffix}"
        )
        return plain, deduped

    with require_replicas(1, timeout_ms=200):
        with pytest.raises(ReplicationTimeout, match="only 0 of 1"):
            asyncio.run(both("1"))
    assert primary.llen(f"rq:queue:{QUEUE}") == 1  # the script ran; the wait failed
    (tmp_path / "replica").mkdir()
    replica = start_private_redis(redis_proc.executable, tmp_path / "replica")
    try:
        link = redis.Redis(host=replica.host, port=replica.port)
        link.replicaof(private_redis.host, private_redis.port)
        until = time.monotonic() + 30
        while link.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < until, "the replica did not attach"
            time.sleep(0.1)
        with require_replicas(1, timeout_ms=2000):
            plain, deduped = asyncio.run(both("2"))
        assert deduped is not None
        assert link.exists(plain.key) and link.exists(deduped.key)  # on the replica already
        link.close()
    finally:
        replica.stop()
        primary.close()
        rqjobs.reset_redis()


# -- the deadline, against a paused server ------------------------------------------------


@pytest.fixture
def paused_env(private_redis: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``REDIS_URL`` at a private server; a 1.5 s deadline, reads that could wait 5 s."""
    monkeypatch.setenv("REDIS_URL", f"redis://{private_redis.host}:{private_redis.port}/0")
    monkeypatch.setenv("RQJOBS_CALL_DEADLINE", "1.5")
    monkeypatch.setenv("RQJOBS_SOCKET_TIMEOUT", "5")
    monkeypatch.setenv("RQJOBS_SOCKET_CONNECT_TIMEOUT", "5")
    monkeypatch.setenv("RQJOBS_RETRIES", "3")
    for name in ("RQJOBS_QUEUES", "SERVICE_ROLE", "RQJOBS_SERIALIZER"):
        monkeypatch.delenv(name, raising=False)
    rqjobs.reset_redis()
    yield private_redis
    rqjobs.reset_redis()


@pytest.mark.slow
def test_a_paused_redis_fails_within_the_deadline_without_blocking_the_loop(
    paused_env: Any,
) -> None:
    pid = paused_env.process.pid
    timings: dict[str, float] = {}

    async def scenario() -> dict[str, Any]:
        # Warm: the loop's client has an open connection before the pause.
        assert await aio.enqueue_with_dedupe(QUEUE, "runtime_jobs.record", "w", dedupe_key="w:1")
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                await asyncio.sleep(0.05)
                ticks += 1

        ticking = asyncio.ensure_future(ticker())
        errors: dict[str, BaseException] = {}
        os.kill(pid, signal.SIGSTOP)
        try:
            for name, call in (
                (
                    "enqueue_with_dedupe",
                    lambda: aio.enqueue_with_dedupe(
                        QUEUE, "runtime_jobs.record", "p", dedupe_key="p:1"
                    ),
                ),
                ("enqueue", lambda: aio.enqueue(QUEUE, "runtime_jobs.record", "p")),
                ("get_queue_stats", lambda: aio.get_queue_stats()),
                # A client without a connection yet: the connect handshake waits too.
                ("cold get_counters", lambda: aio.get_counters(aio.get_async_redis(db=1))),
            ):
                started = time.monotonic()
                try:
                    await call()
                except BaseException as exc:  # noqa: BLE001 - checked below
                    errors[name] = exc
                timings[name] = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        stop.set()
        await ticking
        after = await aio.get_queue_stats([QUEUE])
        return {"errors": errors, "ticks": ticks, "after": after}

    outcome = asyncio.run(scenario())
    print(f"\naio calls against a paused Redis (deadline 1.5 s, socket timeout 5 s): {timings}")
    for name in ("enqueue_with_dedupe", "enqueue", "get_queue_stats", "cold get_counters"):
        error = outcome["errors"].get(name)
        assert isinstance(error, RedisUnavailable), (name, error)
        assert isinstance(error, redis.exceptions.TimeoutError), (name, error)
        assert "RQJOBS_CALL_DEADLINE" in str(error)
        assert 1.4 <= timings[name] < 1.5 + 1.5, (name, timings[name])
    # The loop kept running: ~120 ticks of 50 ms in 6 s; demand a third of that.
    assert outcome["ticks"] >= 40, outcome["ticks"]
    assert outcome["after"][QUEUE]["queued"] >= 1  # the server answers again
