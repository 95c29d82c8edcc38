"""Real faults: lost replies, racing producers, SIGKILLed producers, a Redis restart.

Every test counts: each event enqueued exactly once, executed exactly once.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
import redis
import rqjobs
from rq import Queue
from rq.job import Job, JobStatus
from rqjobs import scripts
from rqjobs.errors import RedisUnavailable
from runtime_jobs import RUNS_KEY
from runtime_support import (
    HERE,
    ReplyDroppingProxy,
    race_producer,
    run_worker,
    shuffled_deliveries,
    start_worker,
    text,
)


def _queued_ids(client: redis.Redis, queue: str) -> list[str]:
    return [text(job_id) for job_id in client.lrange(f"rq:queue:{queue}", 0, -1)]


# --- lost reply -------------------------------------------------------------------------


@pytest.mark.smoke
def test_lost_reply_to_enqueue_pushes_once(
    proxy: ReplyDroppingProxy,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", proxy.url)
    rqjobs.reset_redis()
    try:
        rqjobs.get_redis().ping()
        proxy.drop_reply_to(b"EVALSHA")
        job = rqjobs.enqueue("default", "runtime_jobs.record", "lost-1")
        assert proxy.dropped == 1  # the fault really happened: Redis applied, reply lost
        assert _queued_ids(redis_conn, "default") == [job.id]
        assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"1"
    finally:
        rqjobs.reset_redis()


@pytest.mark.skipif(
    int(redis.__version__.split(".")[0]) < 6,
    reason="a control of redis-py 6+'s default re-sends: redis-py 5.x's Redis() re-sends nothing",
)
def test_lost_reply_to_plain_rq_enqueue_pushes_twice(
    proxy: ReplyDroppingProxy,
    redis_conn,  # type: ignore[no-untyped-def]
) -> None:
    """The hazard rqjobs removes, reproduced with the same proxy (plain RQ + redis-py retries).

    ``redis.Redis(host=..., port=...)`` keeps redis-py 8's default of 10 re-sends (measured:
    ``Redis.from_url`` without ``retry=`` gets 0).
    """
    client = redis.Redis(host="127.0.0.1", port=proxy.port)
    queue = Queue("default", connection=client)
    queue.enqueue("runtime_jobs.record", "warm-up")
    redis_conn.delete("rq:queue:default")
    proxy.drop_reply_to(b"RPUSH")  # the MULTI ... RPUSH ... EXEC of RQ's enqueue
    job = queue.enqueue("runtime_jobs.record", "lost-2")
    assert proxy.dropped == 1
    assert _queued_ids(redis_conn, "default") == [job.id, job.id]
    client.close()


def test_lost_reply_to_dedupe_returns_the_job_not_a_duplicate(
    proxy: ReplyDroppingProxy,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", proxy.url)
    rqjobs.reset_redis()
    try:
        rqjobs.get_redis().ping()
        proxy.drop_reply_to(b"EVALSHA")
        job = rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "e", dedupe_key="lost:1")
        assert proxy.dropped == 1
        assert job is not None  # the re-send was recognised as this same call
        assert _queued_ids(redis_conn, "default") == [job.id]
        assert rqjobs.stats.get_counters() == {"enqueued": {"default": 1}, "dedupe_hits": {}}
        # The provider's retry of the same event is then a duplicate.
        assert (
            rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "e", dedupe_key="lost:1")
            is None
        )
    finally:
        rqjobs.reset_redis()


def test_lost_exec_reply_in_the_transaction_paths(
    proxy: ReplyDroppingProxy,
    redis_url: str,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", proxy.url)
    rqjobs.reset_redis()
    try:
        parent = rqjobs.enqueue("default", "runtime_jobs.record", "parent")
        proxy.drop_reply_to(b"EXEC")
        child = rqjobs.enqueue("default", "runtime_jobs.record", "child", depends_on=parent)
        assert proxy.dropped == 1
        proxy.drop_reply_to(b"EXEC")
        deduped = rqjobs.enqueue_with_dedupe(
            "default", "runtime_jobs.record", "dep", dedupe_key="lost:dep", depends_on=parent
        )
        assert proxy.dropped == 2
        assert deduped is not None
        deferred = redis_conn.zrange("rq:deferred:default", 0, -1)
        assert sorted(deferred) == sorted([child.id.encode(), deduped.id.encode()])
        assert _queued_ids(redis_conn, "default") == [parent.id]
        assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"3"
    finally:
        rqjobs.reset_redis()
    done = run_worker(redis_url, ["default"])
    assert done.returncode == 0, done.stderr
    assert redis_conn.hgetall(RUNS_KEY) == {b"parent": b"1", b"child": b"1", b"dep": b"1"}


# --- race -------------------------------------------------------------------------------

RACE_DELIVERIES = 20_000
RACE_REPEATS = 0.30


def _race(url: str, redis_conn: redis.Redis) -> int:
    """Deliver 20,000 events (30% repeats, random order) from 4 processes x 4 threads."""
    distinct = int(RACE_DELIVERIES * (1 - RACE_REPEATS))
    deliveries, _ = shuffled_deliveries(distinct, RACE_REPEATS, seed=7)
    assert len(deliveries) == RACE_DELIVERIES
    processes, threads = 4, 4
    context = multiprocessing.get_context("spawn")
    producers = [
        context.Process(target=race_producer, args=(url, "race", deliveries[i::processes], threads))
        for i in range(processes)
    ]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join(180)
        assert producer.exitcode == 0
    ids = _queued_ids(redis_conn, "race")
    assert len(ids) == len(set(ids)) == distinct
    assert rqjobs.stats.get_counters() == {
        "enqueued": {"race": distinct},
        "dedupe_hits": {"race": RACE_DELIVERIES - distinct},
    }
    assert len(redis_conn.keys("job_lock:race:*")) == distinct
    return distinct


def test_race_20000_deliveries_enqueue_each_distinct_event_once(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
) -> None:
    _race(rqjobs_env, redis_conn)


@pytest.mark.slow
def test_race_then_real_workers_run_each_event_exactly_once(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
) -> None:
    distinct = _race(rqjobs_env, redis_conn)
    # Two real workers drain the queue in parallel (~75 s for 14,000 jobs on 2 busy cores).
    workers = [start_worker(rqjobs_env, ["race"]) for _ in range(2)]
    for worker in workers:
        output, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, output[-2000:]
    runs = redis_conn.hgetall(RUNS_KEY)
    assert len(runs) == distinct
    assert set(runs.values()) == {b"1"}
    assert redis_conn.zcard("rq:finished:race") == distinct


# --- crash ------------------------------------------------------------------------------


def test_sigkilled_producers_then_provider_retries_enqueue_each_event_once(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
) -> None:
    rng = random.Random(11)
    events = [f"c{index:05d}" for index in range(4000)]
    acked: set[str] = set()
    kills = 0  # rounds whose producer died by SIGKILL before acknowledging all it was given
    rounds = 0
    while len(acked) < len(events):
        rounds += 1
        # The provider re-delivers everything not acknowledged, in a new order.
        pending = [event for event in events if event not in acked]
        rng.shuffle(pending)
        producer = subprocess.Popen(
            [sys.executable, str(HERE / "runtime_support.py"), "crash", rqjobs_env, "crash"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(HERE),
        )
        assert producer.stdin is not None and producer.stdout is not None
        producer.stdin.write("\n".join(pending))
        producer.stdin.close()
        assert producer.stdout.readline().strip() == "ready"
        lines: list[str] = []
        reader = threading.Thread(target=lines.extend, args=(producer.stdout,))
        reader.start()
        if rounds <= 8:
            time.sleep(rng.uniform(0.005, 0.06))  # somewhere inside the delivery loop
            producer.send_signal(signal.SIGKILL)
        producer.wait(60)
        reader.join(60)
        before = len(acked)
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ack":
                acked.add(parts[1])
        if producer.returncode == -signal.SIGKILL and len(acked) - before < len(pending):
            kills += 1
        assert rounds < 50
    assert kills >= 6
    ids = _queued_ids(redis_conn, "crash")
    expected = {rqjobs.generate_deterministic_job_id(f"crash:{event}") for event in events}
    assert len(ids) == len(events)
    assert set(ids) == expected
    assert rqjobs.stats.get_counters()["enqueued"] == {"crash": len(events)}
    # No lock without its job: every lock has a queued job hash.
    for event in rng.sample(events, 100):
        job_id = rqjobs.generate_deterministic_job_id(f"crash:{event}")
        assert redis_conn.hget(f"rq:job:{job_id}", "status") == b"queued"


# --- Redis restart ----------------------------------------------------------------------


def test_redis_restart_mid_storm_loses_nothing_and_doubles_nothing(
    private_redis,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runtime_support import make_fsync_always

    url = f"redis://{private_redis.host}:{private_redis.port}/0"
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("RQJOBS_RETRIES", "2")
    monkeypatch.setenv("RQJOBS_SOCKET_TIMEOUT", "2")
    rqjobs.reset_redis()
    distinct = 1500
    deliveries, _ = shuffled_deliveries(distinct, 0.3, seed=3)
    chunks = [deliveries[i::4] for i in range(4)]
    outcomes = {"ok": 0, "dup": 0, "raised": 0}
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    progress = threading.Event()

    def deliver(chunk: list[str]) -> None:
        for number, event in enumerate(chunk):
            while True:  # the provider retries a delivery that got a 5xx
                try:
                    job = rqjobs.enqueue_with_dedupe(
                        "storm", "runtime_jobs.record", event, dedupe_key=f"storm:{event}"
                    )
                except (RedisUnavailable, redis.exceptions.ConnectionError):
                    with lock:
                        outcomes["raised"] += 1
                    time.sleep(0.05)
                    continue
                except BaseException as exc:  # noqa: BLE001
                    unexpected.append(exc)
                    return
                with lock:
                    outcomes["ok" if job is not None else "dup"] += 1
                break
            if number == len(chunk) // 4:
                progress.set()
            if number % 25 == 0:
                time.sleep(0.01)  # keep the storm going across the restart

    threads = [threading.Thread(target=deliver, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    assert progress.wait(60)
    private_redis.stop()  # SIGTERM: redis-server exits; clients see refused connections
    time.sleep(1.0)
    private_redis.start()
    make_fsync_always(private_redis)
    for thread in threads:
        thread.join(120)
    rqjobs.reset_redis()
    assert not unexpected, unexpected
    assert outcomes["raised"] > 0  # the restart really hit deliveries in flight
    assert outcomes["ok"] + outcomes["dup"] == len(deliveries)
    client = redis.Redis(host=private_redis.host, port=private_redis.port)
    ids = _queued_ids(client, "storm")
    assert len(ids) == len(set(ids)) == distinct
    # A delivery whose reply died with the server may have been applied: its retry is then
    # (correctly) a duplicate. So "ok" can be below ``distinct``, never above it.
    assert outcomes["ok"] <= distinct
    assert client.hget(scripts.COUNTERS_ENQUEUED, "storm") == str(distinct).encode()
    client.config_set("appendfsync", "no")  # durability is proven; fsync per write is slow
    done = run_worker(url, ["storm"], simple=True)
    assert done.returncode == 0, done.stderr[-2000:]
    runs = client.hgetall(RUNS_KEY)
    assert len(runs) == distinct and set(runs.values()) == {b"1"}
    client.close()


def test_job_from_a_killed_producer_is_never_half_written(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
) -> None:
    """Every job hash the crash loop can leave behind is complete (RQ can load it)."""
    producer = subprocess.Popen(
        [sys.executable, str(HERE / "runtime_support.py"), "crash", rqjobs_env, "half"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(HERE),
    )
    assert producer.stdin is not None and producer.stdout is not None
    producer.stdin.write("\n".join(f"h{index}" for index in range(5000)))
    producer.stdin.close()
    assert producer.stdout.readline().strip() == "ready"
    time.sleep(0.1)
    os.kill(producer.pid, signal.SIGKILL)
    producer.wait(30)
    producer.stdout.close()
    ids = _queued_ids(redis_conn, "half")
    assert ids
    locks = redis_conn.keys("job_lock:crash:h*")
    assert len(locks) == len(ids) == len(set(ids))
    for job_id in ids:
        job = Job.fetch(job_id, connection=redis_conn)
        assert job.get_status() == JobStatus.QUEUED and job.func_name == "runtime_jobs.record"
