"""``enqueue_with_dedupe`` against real faults of real ``rqjobs worker`` processes.

A dedupe lock holds its event only while its job really is in flight. These tests kill
workers and work horses with SIGKILL (a whole worker session at once: worker, horse,
scheduler), delete and cancel jobs the way rq-dashboard does, and check by counting that
no event is lost, none runs twice, and a redelivery is accepted exactly when the job that
held the event can no longer finish it.

The workers run with ``RQJOBS_HEARTBEAT_INTERVAL=1`` and ``RQJOBS_ORPHAN_GRACE=2`` (also
set in this process, which runs the producer side) so that recovery takes seconds.
Job functions: ``fault_jobs.py``; side effects are in Redis (``fault:*`` keys).
"""

from __future__ import annotations

import logging
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
import redis
import rqjobs
import rqjobs.dedupe
from fault_jobs import DONE, END_PREFIX, RUNS, SELF_KILL_AT, START_PREFIX
from rq import Retry
from rq.job import Job
from runtime_support import kill_session, start_rqjobs_worker, text, wait_for_worker_pid

HEARTBEAT_INTERVAL = 1.0
ORPHAN_GRACE = 2.0


# --- helpers ------------------------------------------------------------------------------


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, *, every: float = 0.02
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def counter(client: redis.Redis, name: str, event: str) -> int:
    return int(client.hget(name, event) or 0)


def status_of(client: redis.Redis, job_id: str) -> str | None:
    value = client.hget(f"rq:job:{job_id}", "status")
    return text(value) if value is not None else None


def dedupe_status(key: str) -> dict[str, Any]:
    return rqjobs.dedupe.dedupe_status(key)


class Workers:
    """``rqjobs worker`` subprocesses of one test; every one still alive is killed at the end."""

    def __init__(self, url: str, client: redis.Redis, log_path: Path) -> None:
        self.url = url
        self.client = client
        self.log_path = log_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, queues: list[str], *, scheduler: bool = True) -> subprocess.Popen[bytes]:
        """Start a worker and wait until it has registered."""
        proc = start_rqjobs_worker(self.url, queues, log_path=self.log_path, scheduler=scheduler)
        self.procs.append(proc)
        try:
            wait_for_worker_pid(self.client, proc)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> list[int]:
        """SIGKILL the worker's whole session (worker, horse, scheduler); the pids killed."""
        pids = kill_session(proc.pid)
        proc.wait(timeout=10)
        return pids

    def stop(self, proc: subprocess.Popen[bytes], *, timeout: float = 30) -> None:
        """SIGTERM: RQ's warm shutdown (its scheduler releases its locks); wait for the exit."""
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker {proc.pid} ignored SIGTERM\n{self.log_tail()}") from None

    def burst(self, queues: list[str], *, timeout: float = 60) -> None:
        """``rqjobs worker --burst`` until the queues are empty."""
        proc = start_rqjobs_worker(
            self.url, queues, log_path=self.log_path, scheduler=False, burst=True
        )
        self.procs.append(proc)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"burst worker still running after {timeout} s") from None
        assert code == 0, f"burst worker exited with {code}\n{self.log_tail()}"

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)

    def log_tail(self, lines: int = 40) -> str:
        try:
            content = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no worker log)"
        return "worker log (tail):\n" + "\n".join(content[-lines:])


@pytest.fixture
def fault_env(rqjobs_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``rqjobs_env`` plus short heartbeats and orphan grace (inherited by the workers)."""
    monkeypatch.setenv("RQJOBS_HEARTBEAT_INTERVAL", str(HEARTBEAT_INTERVAL))
    monkeypatch.setenv("RQJOBS_ORPHAN_GRACE", str(ORPHAN_GRACE))
    return rqjobs_env


@pytest.fixture
def workers(fault_env: str, redis_conn: redis.Redis, tmp_path: Path) -> Iterator[Workers]:
    manager = Workers(fault_env, redis_conn, tmp_path / "worker.log")
    try:
        yield manager
    finally:
        manager.close()


# --- 1. a multi-queue worker SIGKILLed 50 times while events are redelivered -------------

EVENTS = 200
KILLS = 50
QUEUES = ["faults-a", "faults-b"]  # two queues: RQ dequeues with BLPOP (no intermediate list)
REDELIVERY_EVERY = 0.5


def _event_key(event: str) -> str:
    return f"evt:{event}"


def _deliver(event: str) -> Any:
    return rqjobs.enqueue_with_dedupe(
        QUEUES[int(event) % len(QUEUES)],
        "fault_jobs.work",
        event,
        dedupe_key=_event_key(event),
    )


class DedupeLog(logging.Handler):
    """Counts the states behind ``rqjobs.dedupe``'s "Skipped duplicate"/"Accepted" lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        reasons = getattr(rqjobs.dedupe, "_STATE_REASONS", {})
        self.states = {reason: state for state, reason in reasons.items()}
        failed = getattr(rqjobs.dedupe, "_FAILED_REASON", None)
        if failed:
            self.states[failed] = "failed"
        self.accepted: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = str(record.msg)
        if not isinstance(record.args, tuple) or len(record.args) < 3:
            return
        state = self.states.get(str(record.args[2]), str(record.args[2]))
        if message.startswith("Skipped duplicate"):
            self.duplicates[state] += 1
        elif message.startswith("Accepted redelivery"):
            self.accepted[state] += 1


class Redeliverer(threading.Thread):
    """A provider whose deliveries time out: redelivers every event not yet processed.

    "Processed" is what the system itself records: the lock is marked ``done:`` by the job's
    success callback. An event whose run did its work but was killed before that is
    redelivered (and may run again: that double is explained, see the test).
    """

    def __init__(self, client: redis.Redis, events: list[str]) -> None:
        super().__init__(name="redeliverer", daemon=True)
        self.client = client
        self.pending = set(events)
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self.deliveries = 0
        self.accepted = 0
        self.duplicates = 0

    def deliver(self, event: str) -> None:
        self.deliveries += 1
        if _deliver(event) is None:
            self.duplicates += 1
        else:
            self.accepted += 1

    def run(self) -> None:
        try:
            while not self.stopped.wait(REDELIVERY_EVERY):
                self.one_pass()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test
            self.error = exc

    def one_pass(self) -> None:
        events = sorted(self.pending)
        with self.client.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.get(rqjobs.dedupe.lock_key(_event_key(event)))
            locks = pipe.execute()
        for event, lock in zip(events, locks):
            if lock is not None and lock.startswith(b"done:"):
                self.pending.discard(event)
            else:
                self.deliver(event)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)
        assert not self.is_alive(), "the redeliverer did not stop"
        if self.error is not None:
            raise self.error


@dataclass
class Kill:
    at: float  # time.time() once every process of the session was dead
    pids: list[int]
    worker_pid: int
    orphans: list[tuple[str, str]]  # (event, enqueued_at): queued in no list after the kill


@dataclass
class Run:
    run_id: str
    pid: int
    at: float


def _runs(values: list[bytes]) -> list[Run]:
    runs = []
    for value in values:
        run_id, pid, at = text(value).split("|")
        runs.append(Run(run_id, int(pid), float(at)))
    return sorted(runs, key=lambda run: run.at)


def _orphaned_jobs(client: redis.Redis, events: list[str]) -> list[tuple[str, str]]:
    """``(event, enqueued_at)`` of every job whose hash says ``queued`` while its id is in no
    queue list (one MULTI, so the producer's atomic enqueues cannot fool it)."""
    ids = [rqjobs.generate_deterministic_job_id(_event_key(event)) for event in events]
    with client.pipeline(transaction=True) as pipe:
        for queue in QUEUES:
            pipe.lrange(f"rq:queue:{queue}", 0, -1)
            pipe.lrange(f"rq:queue:{queue}:intermediate", 0, -1)
        for job_id in ids:
            pipe.hmget(f"rq:job:{job_id}", "status", "enqueued_at")
        replies = pipe.execute()
    listed = {text(job_id) for ids_in_list in replies[: 2 * len(QUEUES)] for job_id in ids_in_list}
    fields = replies[2 * len(QUEUES) :]
    return [
        (event, text(enqueued_at or b""))
        for event, job_id, (status, enqueued_at) in zip(events, ids, fields)
        if status == b"queued" and job_id not in listed
    ]


@pytest.mark.slow
def test_multi_queue_worker_sigkilled_50_times_loses_and_doubles_nothing(
    workers: Workers, redis_conn: redis.Redis
) -> None:
    rng = random.Random(0xDEDE)
    events = [f"{index:04d}" for index in range(EVENTS)]
    log = DedupeLog()
    dedupe_logger = logging.getLogger("rqjobs.dedupe")
    old_level, old_propagate = dedupe_logger.level, dedupe_logger.propagate
    dedupe_logger.addHandler(log)
    dedupe_logger.setLevel(logging.INFO)
    dedupe_logger.propagate = False
    started = time.monotonic()
    kills: list[Kill] = []
    producer = Redeliverer(redis_conn, events)
    try:
        for event in events:
            assert _deliver(event) is not None  # first delivery of each event: a new job
        producer.start()
        for _ in range(KILLS):
            proc = workers.start(QUEUES, scheduler=False)
            time.sleep(rng.uniform(0.05, 0.8))
            pids = workers.kill(proc)
            at = time.time()
            kills.append(Kill(at, pids, proc.pid, _orphaned_jobs(redis_conn, events)))
        kill_phase = time.monotonic() - started
        final = workers.start(QUEUES, scheduler=False)
        try:
            wait_until(
                lambda: not producer.pending or producer.error is not None,
                150,
                "every event to be processed",
                every=0.2,
            )
        except AssertionError:
            stuck = sorted(producer.pending)[:5]
            details = {key: dedupe_status(_event_key(key)) for key in stuck}
            raise AssertionError(
                f"{len(producer.pending)} events never processed, e.g. {details}\n"
                f"{workers.log_tail()}"
            ) from None
        producer.stop()
        workers.kill(final)
    finally:
        producer.stopped.set()
        dedupe_logger.removeHandler(log)
        dedupe_logger.setLevel(old_level)
        dedupe_logger.propagate = old_propagate
    elapsed = time.monotonic() - started

    # Every process killed, with the time it was killed.
    killed_at: dict[int, list[float]] = {}
    for kill in kills:
        for pid in kill.pids:
            killed_at.setdefault(pid, []).append(kill.at)

    def killed_after(pid: int, at: float) -> float | None:
        """When ``pid`` was killed, if that was after ``at`` (the same process)."""
        later = [when for when in killed_at.get(pid, []) if at <= when <= at + 120]
        return min(later) if later else None

    lost, unexplained, explained, overlaps, vanished = [], [], [], [], []
    total_runs = total_completions = 0
    for event in events:
        starts = _runs(redis_conn.lrange(START_PREFIX + event, 0, -1))
        ends = _runs(redis_conn.lrange(END_PREFIX + event, 0, -1))
        total_runs += len(starts)
        total_completions += len(ends)
        if not ends:
            lost.append(event)
            continue
        # Each completion but the last must have been killed before rq recorded it.
        for completion in ends[:-1]:
            if killed_after(completion.pid, completion.at) is None:
                unexplained.append((event, completion))
            else:
                explained.append((event, completion))
        # Runs of one event never overlap while alive: [start, end or kill].
        end_of = {run.run_id: run.at for run in ends}
        intervals = []
        for run in starts:
            until = end_of.get(run.run_id)
            if until is None:
                until = killed_after(run.pid, run.at)
            if until is None:
                vanished.append((event, run))
                until = float("inf")
            intervals.append((run.at, until, run))
        intervals.sort(key=lambda item: item[0])
        for (_, prev_end, prev), (next_start, _, nxt) in zip(intervals, intervals[1:]):
            if next_start < prev_end:
                overlaps.append((event, prev, nxt))

    done_total = sum(int(value) for value in redis_conn.hvals(DONE))
    horse_kills = sum(1 for kill in kills if len(kill.pids) > 1)
    # An orphan stays one until a redelivery after the grace replaces its job: count each
    # orphaned job (event, enqueued_at) once, at the first kill that found it.
    seen_orphans: set[tuple[str, str]] = set()
    orphan_kills: list[list[str]] = []
    for kill in kills:
        new_orphans = [orphan for orphan in kill.orphans if orphan not in seen_orphans]
        seen_orphans.update(kill.orphans)
        if new_orphans:
            orphan_kills.append([event for event, _ in new_orphans])
    print(
        f"\n[faults] {EVENTS} events on {QUEUES}, {len(kills)} SIGKILLs of the worker session "
        f"({horse_kills} while a work horse was alive) in {kill_phase:.1f} s, "
        f"all processed {elapsed:.1f} s after the start"
        f"\n[faults] runs started {total_runs}, runs completed {total_completions} "
        f"(fault:done {done_total}), events {EVENTS}"
        f"\n[faults] kills that left an orphan (queued job in no list): {len(orphan_kills)} "
        f"({len(seen_orphans)} jobs: {orphan_kills})"
        f"\n[faults] orphans recovered (redelivery accepted after the grace): "
        f"{log.accepted['orphaned']}; redeliveries that found a job popped and not started "
        f"(a live worker's pop or an orphan's first sighting, answered duplicate): "
        f"{log.duplicates['popped']}"
        f"\n[faults] deliveries {EVENTS + producer.deliveries}: first {EVENTS}, redeliveries "
        f"{producer.deliveries} = accepted {producer.accepted} {dict(log.accepted)} "
        f"+ duplicates {producer.duplicates} {dict(log.duplicates)}"
        f"\n[faults] doubles explained (work done, killed before rq recorded it): "
        f"{len(explained)} {[(event, run.pid) for event, run in explained]}"
    )
    assert producer.error is None
    assert not lost, f"events never completed: {lost}"
    assert not unexplained, f"completed twice, first run not killed: {unexplained}"
    assert not overlaps, f"runs of one event overlapped: {overlaps[:5]}"
    assert not vanished, f"runs that neither ended nor were killed: {vanished[:5]}"
    assert done_total == total_completions
    assert len(kills) == KILLS
    # The kills really hit running jobs, and their events came back through redeliveries.
    assert horse_kills >= 10, f"only {horse_kills} kills hit a running job"
    assert log.accepted["dead"] >= 1, f"no redelivery accepted for a dead worker: {log.accepted}"
    # An orphan leaves only through a redelivery after the grace: each one found was recovered.
    assert log.accepted["orphaned"] >= len(seen_orphans), (log.accepted, seen_orphans)
    assert producer.accepted == sum(log.accepted.values())
    assert producer.duplicates == sum(log.duplicates.values())


# --- 2. the work horse killed ---------------------------------------------------------------


def test_horse_killed_then_failed_then_redelivery_accepted_at_once(
    workers: Workers, redis_conn: redis.Redis
) -> None:
    queue, event = "horse", "horse-1"
    key = _event_key(event)
    workers.start([queue])
    job = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.kill_own_horse_first", event, dedupe_key=key
    )
    assert job is not None
    wait_until(lambda: status_of(redis_conn, job.id) == "failed", 30, "the worker to fail the job")
    killed_at = float(redis_conn.get(SELF_KILL_AT))
    status = dedupe_status(key)
    again = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.kill_own_horse_first", event, dedupe_key=key
    )
    accepted_after = time.time() - killed_at
    print(f"\n[horse] horse SIGKILLed -> redelivery accepted in {accepted_after:.3f} s ({status})")
    assert again is not None, f"redelivery of a failed job refused: {status}"
    assert status["accepts_redelivery"] and status["job_status"] == "failed", status
    assert again.id == job.id
    assert accepted_after <= 2.0
    wait_until(lambda: counter(redis_conn, DONE, event) >= 1, 30, "the redelivered run")
    wait_until(lambda: status_of(redis_conn, job.id) == "finished", 30, "rq to record it")
    assert counter(redis_conn, RUNS, event) == 2  # the killed run and the redelivered one
    assert counter(redis_conn, DONE, event) == 1
    assert rqjobs.enqueue_with_dedupe(queue, "fault_jobs.record", event, dedupe_key=key) is None
    assert counter(redis_conn, RUNS, event) == 2


# --- 3. worker and horse killed -------------------------------------------------------------


def test_worker_and_horse_killed_event_free_after_two_heartbeats(
    workers: Workers, redis_conn: redis.Redis
) -> None:
    queue, event = "long", "long-1"
    key = _event_key(event)
    worker = workers.start([queue])
    job = rqjobs.enqueue_with_dedupe(queue, "fault_jobs.long_first", event, 30, dedupe_key=key)
    assert job is not None
    alive = f"rqjobs:alive:{job.id}"
    wait_until(
        lambda: status_of(redis_conn, job.id) == "started" and redis_conn.exists(alive),
        30,
        "the job to start and beat",
    )
    # The horse beats before it calls the function: a kill in between would leave the
    # redelivered run as the "first" one (30 s), so wait until the function has counted.
    wait_until(lambda: counter(redis_conn, RUNS, event) >= 1, 30, "the function to start")
    # Kill right after a beat, so "right away" is well inside the beat's lifetime.
    wait_until(lambda: redis_conn.pttl(alive) > 1500, 10, "a fresh beat", every=0.005)
    pids = workers.kill(worker)
    killed = time.monotonic()
    assert len(pids) >= 2, f"the worker and its horse expected, killed {pids}"
    right_away = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.long_first", event, 30, dedupe_key=key
    )
    status = dedupe_status(key)
    assert right_away is None
    assert status["state"] == "started" and not status["accepts_redelivery"], status
    attempts = 1
    while True:
        again = rqjobs.enqueue_with_dedupe(
            queue, "fault_jobs.long_first", event, 30, dedupe_key=key
        )
        attempts += 1
        if again is not None:
            seconds = time.monotonic() - killed
            break
        assert time.monotonic() - killed < 30, f"never accepted: {dedupe_status(key)}"
        time.sleep(0.02)
    print(
        f"\n[kill] worker+horse SIGKILLed -> redelivery accepted after {seconds:.3f} s "
        f"({attempts} deliveries)"
    )
    assert seconds <= 2 * HEARTBEAT_INTERVAL + 1.5
    assert again.id == job.id
    assert status_of(redis_conn, job.id) == "queued"
    workers.start([queue])
    wait_until(lambda: counter(redis_conn, DONE, event) >= 1, 30, "the redelivered run")
    wait_until(lambda: status_of(redis_conn, job.id) == "finished", 30, "rq to record it")
    assert counter(redis_conn, RUNS, event) == 2
    assert counter(redis_conn, DONE, event) == 1


# --- 4. retries and scheduled jobs under rqjobs worker -------------------------------------


def test_retry_and_scheduled_jobs_under_rqjobs_worker(
    workers: Workers, redis_conn: redis.Redis
) -> None:
    queue = "retry"
    workers.start([queue])  # rqjobs worker runs RQ's scheduler by default
    wait_until(lambda: redis_conn.exists(f"rq:scheduler-lock:{queue}"), 30, "the scheduler lock")

    # Fails once, then succeeds: while it waits for its retry, the event is held.
    event = "retry-1"
    key = _event_key(event)
    job = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.fail_first", event, dedupe_key=key, retry=Retry(max=2, interval=1)
    )
    assert job is not None
    waiting = wait_until(
        lambda: (status := dedupe_status(key))["state"] == "scheduled" and status,
        30,
        "the job to wait for its retry",
        every=0.01,
    )
    assert not waiting["accepts_redelivery"], waiting
    assert rqjobs.enqueue_with_dedupe(queue, "fault_jobs.fail_first", event, dedupe_key=key) is None
    wait_until(lambda: status_of(redis_conn, job.id) == "finished", 30, "the retry to succeed")
    assert counter(redis_conn, RUNS, event) == 2
    assert counter(redis_conn, DONE, event) == 1
    assert rqjobs.enqueue_with_dedupe(queue, "fault_jobs.fail_first", event, dedupe_key=key) is None

    # Fails on every run: after its final failure, the event is free.
    event = "retry-2"
    key = _event_key(event)
    job = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.always_fail", event, dedupe_key=key, retry=Retry(max=1, interval=1)
    )
    assert job is not None
    wait_until(
        lambda: counter(redis_conn, RUNS, event) == 2 and status_of(redis_conn, job.id) == "failed",
        30,
        "the final failure",
    )
    status = dedupe_status(key)
    assert status["accepts_redelivery"] and status["state"] == "failed", status
    again = rqjobs.enqueue_with_dedupe(queue, "fault_jobs.record", event, dedupe_key=key)
    assert again is not None and again.id == job.id
    wait_until(lambda: counter(redis_conn, DONE, event) == 1, 30, "the accepted redelivery")
    assert counter(redis_conn, RUNS, event) == 3

    # Waiting for its retry when its worker shuts down (and its scheduler with it): nothing
    # would move the job back to its queue, so the event is free; a new worker runs it once.
    stop_queue, event = "retry-stop", "retry-3"
    key = _event_key(event)
    stopping = workers.start([stop_queue])
    wait_until(
        lambda: redis_conn.exists(f"rq:scheduler-lock:{stop_queue}"), 30, "the scheduler lock"
    )
    job = rqjobs.enqueue_with_dedupe(
        stop_queue, "fault_jobs.fail_first", event, dedupe_key=key, retry=Retry(max=2, interval=60)
    )
    assert job is not None
    wait_until(lambda: dedupe_status(key)["state"] == "scheduled", 30, "the retry wait")
    assert (
        rqjobs.enqueue_with_dedupe(stop_queue, "fault_jobs.fail_first", event, dedupe_key=key)
        is None
    )
    workers.stop(stopping)
    assert not redis_conn.exists(f"rq:scheduler-lock:{stop_queue}")
    status = dedupe_status(key)
    assert (status["state"], status["accepts_redelivery"]) == ("unscheduled", True), status
    again = rqjobs.enqueue_with_dedupe(stop_queue, "fault_jobs.fail_first", event, dedupe_key=key)
    assert again is not None and again.id == job.id
    assert not redis_conn.zscore(f"rq:scheduled:{stop_queue}", job.id)  # stale entry cleared
    workers.start([stop_queue])
    wait_until(lambda: status_of(redis_conn, job.id) == "finished", 30, "the redelivered run")
    assert counter(redis_conn, RUNS, event) == 2
    assert counter(redis_conn, DONE, event) == 1

    # enqueue_in: RQ's scheduler in rqjobs worker moves it to the queue when due.
    event = "later-1"
    enqueued = time.monotonic()
    later = rqjobs.get_queue(queue).enqueue_in(timedelta(seconds=2), "fault_jobs.record", event)
    assert status_of(redis_conn, later.id) == "scheduled"
    wait_until(lambda: counter(redis_conn, DONE, event) == 1, 30, "the enqueue_in job")
    ran_after = time.monotonic() - enqueued
    print(f"\n[retry] enqueue_in(2 s) ran after {ran_after:.2f} s")
    assert ran_after >= 1.0
    wait_until(lambda: status_of(redis_conn, later.id) == "finished", 30, "rq to record it")
    assert counter(redis_conn, RUNS, event) == 1


# --- 5. deleted and canceled jobs ----------------------------------------------------------


def test_deleted_and_canceled_jobs_free_their_event(
    workers: Workers, redis_conn: redis.Redis
) -> None:
    queue = "dashboard"
    connection = rqjobs.get_redis()

    event = "deleted-1"
    key = _event_key(event)
    job = rqjobs.enqueue_with_dedupe(queue, "fault_jobs.record", event, dedupe_key=key)
    assert job is not None
    before = dedupe_status(key)
    assert (before["state"], before["accepts_redelivery"]) == ("queued", False), before
    assert rqjobs.enqueue_with_dedupe(queue, "fault_jobs.record", event, dedupe_key=key) is None
    Job.fetch(job.id, connection=connection).delete()  # rq-dashboard's "delete"
    after = dedupe_status(key)
    assert (after["state"], after["accepts_redelivery"]) == ("gone", True), after
    assert after["job_status"] is None and after["lock_state"] == "held", after
    again = rqjobs.enqueue_with_dedupe(queue, "fault_jobs.record", event, dedupe_key=key)
    assert again is not None and again.id == job.id

    canceled_event = "canceled-1"
    canceled_key = _event_key(canceled_event)
    job = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.record", canceled_event, dedupe_key=canceled_key
    )
    assert job is not None
    Job.fetch(job.id, connection=connection).cancel()
    status = dedupe_status(canceled_key)
    assert (status["state"], status["accepts_redelivery"]) == ("canceled", True), status
    again = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.record", canceled_event, dedupe_key=canceled_key
    )
    assert again is not None and again.id == job.id
    assert not redis_conn.zscore(f"rq:canceled:{queue}", job.id)  # the stale record is gone

    workers.burst([queue])
    for name in (event, canceled_event):
        assert counter(redis_conn, RUNS, name) == 1, name
        assert counter(redis_conn, DONE, name) == 1, name
        assert dedupe_status(_event_key(name))["lock_state"] == "done"
    assert redis_conn.llen(f"rq:queue:{queue}") == 0


# --- 6. a finished job whose hash rq deletes at once ---------------------------------------


def test_finished_job_with_result_ttl_0_still_holds_its_event(
    workers: Workers, redis_conn: redis.Redis
) -> None:
    queue, event = "ttl0", "ttl0-1"
    key = _event_key(event)
    job = rqjobs.enqueue_with_dedupe(
        queue, "fault_jobs.record", event, dedupe_key=key, result_ttl=0
    )
    assert job is not None
    workers.burst([queue])
    assert counter(redis_conn, DONE, event) == 1
    assert not redis_conn.exists(job.key)  # result_ttl=0: rq deleted the hash
    status = dedupe_status(key)
    assert status["lock_state"] == "done", status
    assert (status["state"], status["accepts_redelivery"]) == ("finished", False), status
    assert rqjobs.enqueue_with_dedupe(queue, "fault_jobs.record", event, dedupe_key=key) is None
    workers.burst([queue])
    assert counter(redis_conn, RUNS, event) == 1
