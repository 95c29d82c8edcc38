"""Real scheduler processes: SIGKILL the lock holder, count every period.

Takeover is measured from the kill (taken just before ``kill()``) to the timestamp that the
new holder writes on its own ``Lock acquired for cycle N`` log line, so a busy test runner
does not inflate it. Periods are counted from what is really in Redis: the job ids in
``rq:queue:default`` and each job's ``meta["period_start"]``.
"""

from __future__ import annotations

import random
import signal
import time
from typing import Any

import pytest
from rq.job import Job
from rqjobs.lock import cycle_lock_key
from sched_support import SchedulerFleet, SchedulerProc


def queued_periods(conn: Any, name: str, queue: str = "default") -> list[float]:
    """``period_start`` of every job of periodic job ``name`` pushed to ``queue``, in order."""
    ids = [raw.decode() for raw in conn.lrange(f"rq:queue:{queue}", 0, -1)]
    jobs = Job.fetch_many(ids, connection=conn)
    periods = []
    for job_id, job in zip(ids, jobs):
        assert job is not None, f"job {job_id} is in the queue but has no hash"
        if job.meta.get("periodic_job") == name:
            periods.append(float(job.meta["period_start"]))
    return periods


def assert_each_period_once(periods: list[float], every: float) -> None:
    assert periods, "no period was enqueued"
    doubled = sorted({p for p in periods if periods.count(p) > 1})
    assert doubled == [], f"periods enqueued twice: {doubled}"
    count = round((max(periods) - min(periods)) / every) + 1
    expected = [min(periods) + i * every for i in range(count)]
    missed = sorted(set(expected) - set(periods))
    assert missed == [], f"periods never enqueued: {missed}"


def current_holder(conn: Any, fleet: SchedulerFleet, tick: float) -> SchedulerProc:
    """The live process holding the current (or, right at a boundary, the last) cycle."""
    deadline = time.time() + 5 * tick
    while time.time() < deadline:
        cycle = int(time.time() // tick)
        for key in (cycle_lock_key(cycle), cycle_lock_key(cycle - 1)):
            token = conn.get(key)
            if token is None:
                continue
            pid = int(token.decode().split(":")[-2])
            for item in fleet.alive():
                if item.pid == pid:
                    return item
        time.sleep(0.05)
    raise AssertionError("no live scheduler holds the lock")


def first_lock_after(
    fleet: SchedulerFleet, after: float, timeout: float
) -> tuple[float, int, SchedulerProc]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for ts, cycle, item in fleet.all_locks():
            if ts > after:
                return ts, cycle, item
        time.sleep(0.05)
    raise AssertionError(f"nobody took a cycle within {timeout}s of the kill")


def run_kills(
    fleet: SchedulerFleet, conn: Any, schedule: str, tick: float, kills: int, size: int
) -> list[float]:
    """``size`` schedulers; SIGKILL the holder ``kills`` times at random points in a tick,
    starting a fresh scheduler after each kill. Returns the takeover times."""
    for _ in range(size):
        fleet.start(schedule, tick)
    for item in fleet.procs:
        fleet.wait_started(item)
    first_lock_after(fleet, 0, timeout=3 * tick + 5)
    rng = random.Random(4)
    takeovers = []
    for _ in range(kills):
        time.sleep(rng.uniform(0.05, 0.95) * tick)
        victim = current_holder(conn, fleet, tick)
        killed_at = victim.kill(signal.SIGKILL)
        victim.wait()
        ts, _cycle, winner = first_lock_after(fleet, killed_at, timeout=3 * tick + 5)
        assert winner is not victim
        takeovers.append(ts - killed_at)
        fresh = fleet.start(schedule, tick)
        fleet.wait_started(fresh)
    time.sleep(1.5 * tick)
    codes = fleet.stop_all()
    # SIGKILLed processes report -9; every other scheduler left with 0 on SIGTERM.
    assert sorted(set(codes)) == [-9, 0]
    return takeovers


def test_sigkill_holder_tick_1s_takes_over_within_a_tick(
    fleet: SchedulerFleet, redis_conn: Any
) -> None:
    tick = 1.0
    takeovers = run_kills(fleet, redis_conn, "periodic_app:every_second", tick, kills=6, size=3)
    assert len(takeovers) == 6
    assert max(takeovers) <= tick + 1.0, takeovers
    assert_each_period_once(queued_periods(redis_conn, "beat"), every=1.0)
    # The log agrees with Redis: no period was reported enqueued by two processes.
    logged = [entry for item in fleet.procs for entry in item.enqueued()]
    assert len(logged) == len(set(logged))
    # Each cycle had exactly one winner.
    cycles = [cycle for _ts, cycle, _item in fleet.all_locks()]
    assert len(cycles) == len(set(cycles))


@pytest.mark.slow
def test_sigkill_holder_default_15s_tick(fleet: SchedulerFleet, redis_conn: Any) -> None:
    tick = 15.0
    takeovers = run_kills(fleet, redis_conn, "periodic_app:every_15s", tick, kills=3, size=2)
    assert max(takeovers) <= tick + 1.0, takeovers
    assert_each_period_once(queued_periods(redis_conn, "beat15"), every=15.0)


def test_fresh_scheduler_takes_over_within_a_tick(fleet: SchedulerFleet, redis_conn: Any) -> None:
    tick = 1.0
    only = fleet.start("periodic_app:every_second", tick)
    fleet.wait_started(only)
    first_lock_after(fleet, 0, timeout=5)
    time.sleep(0.3)
    only.kill(signal.SIGKILL)
    only.wait()
    fresh = fleet.start("periodic_app:every_second", tick)
    fleet.wait_started(fresh)
    started = next(ts for ts, _l, msg in fresh.lines() if msg.startswith("Scheduler started"))
    ts, _cycle, winner = first_lock_after(fleet, started, timeout=5)
    assert winner is fresh
    assert ts - started <= tick + 1.0
    time.sleep(1.5)
    fleet.stop_all()
    assert_each_period_once(queued_periods(redis_conn, "beat"), every=1.0)


def test_two_schedulers_together_enqueue_each_period_once(
    fleet: SchedulerFleet, redis_conn: Any
) -> None:
    first = fleet.start("periodic_app:every_second", 1)
    second = fleet.start("periodic_app:every_second", 1)
    fleet.wait_started(first)
    fleet.wait_started(second)
    time.sleep(6)
    assert fleet.stop_all() == [0, 0]
    periods = queued_periods(redis_conn, "beat")
    assert len(periods) >= 5
    assert_each_period_once(periods, every=1.0)
    cycles = [cycle for _ts, cycle, _item in fleet.all_locks()]
    assert len(cycles) == len(set(cycles))
    # Locks are never deleted by hand: every won cycle's key is still there, with a TTL.
    for cycle in cycles:
        assert 0 < redis_conn.ttl(cycle_lock_key(cycle)) <= 90


def test_sigterm_finishes_the_cycle_and_exits_0(fleet: SchedulerFleet, redis_conn: Any) -> None:
    item = fleet.start("periodic_app:many_jobs", 1)
    fleet.wait_started(item)
    deadline = time.time() + 10
    while not item.locks() and time.time() < deadline:
        time.sleep(0.005)
    assert item.locks(), item.log_path.read_text()
    item.kill(signal.SIGTERM)
    assert item.wait(timeout=30) == 0
    messages = [message for _ts, _level, message in item.lines()]
    signal_at = next(i for i, m in enumerate(messages) if m.startswith("Received signal 15"))
    last_enqueue = max(i for i, m in enumerate(messages) if m.startswith("Enqueued periodic"))
    assert signal_at < last_enqueue, "SIGTERM arrived after the cycle; nothing was tested"
    assert messages[-1].startswith("Scheduler stopped")
    # The interrupted cycle still enqueued all 400 jobs for its period, and only it ran.
    assert len(item.locks()) == 1
    assert redis_conn.llen("rq:queue:default") == 400


def test_scheduler_survives_a_redis_restart_without_leaking_the_password(
    own_redis: Any, tmp_path: Any
) -> None:
    import os

    from sched_support import PASSWORD

    fleet = SchedulerFleet(redis_url=os.environ["REDIS_URL"], workdir=tmp_path)
    item = fleet.start("periodic_app:every_second", 1)
    try:
        fleet.wait_started(item)
        first_lock_after(fleet, 0, timeout=10)
        own_redis.stop()
        down_at = time.time()
        time.sleep(2.5)
        own_redis.start()
        up_at = time.time()
        ts, _cycle, winner = first_lock_after(fleet, up_at, timeout=15)
        assert winner is item
        failures = [m for t, _l, m in item.lines() if down_at <= t and "failed" in m]
        assert failures, "the outage was not reported"
        item.kill(signal.SIGTERM)
        assert item.wait() == 0
    finally:
        if item.proc.poll() is None:
            item.proc.kill()
            item.proc.wait()
    log = item.log_path.read_text()
    assert PASSWORD not in log
    assert "Traceback" not in log
