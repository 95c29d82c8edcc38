"""One scheduler cycle at a time, with a controlled clock, on a real Redis and real enqueues."""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable

import periodic_app
import pytest
import rqjobs
from rq.job import Job
from rqjobs import PeriodicJob, Schedule, Scheduler
from rqjobs.lock import cycle_lock_key
from rqjobs.scheduler import HEALTH_KEY, LAST_PERIOD_KEY


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def periods_in(conn: Any, queue: str) -> list[float]:
    ids = [raw.decode() for raw in conn.lrange(f"rq:queue:{queue}", 0, -1)]
    return [float(job.meta["period_start"]) for job in Job.fetch_many(ids, connection=conn)]


def aligned(step: float) -> float:
    return math.floor(time.time() / step) * step


@pytest.mark.smoke
def test_each_period_once_and_one_missed_period_caught_up(
    rqjobs_env: str, redis_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rqjobs.scheduler")
    schedule = Schedule([PeriodicJob("ten", periodic_app.noop, every=10, queue="pq")])
    p0 = aligned(10) - 1000
    clock = Clock(p0 + 0.1)
    first = Scheduler(schedule, tick=10, clock=clock)
    second = Scheduler(schedule, tick=10, clock=clock)
    assert first.run_cycle() is True
    assert second.run_cycle() is False  # same cycle: the lock is taken
    assert f"Lock acquired for cycle {int(p0 // 10)} (holder={first.holder})" in caplog.text

    clock.now = p0 + 10.1
    assert second.run_cycle() is True
    assert periods_in(redis_conn, "pq") == [p0, p0 + 10]

    # The holder of p0+20 died before enqueueing: the next holder enqueues it once, late.
    clock.now = p0 + 30.2
    assert first.run_cycle() is True
    assert periods_in(redis_conn, "pq") == [p0, p0 + 10, p0 + 20, p0 + 30]

    # A long outage: no storm of back-fills, only the last missed period and the current one.
    clock.now = p0 + 100.3
    assert second.run_cycle() is True
    assert periods_in(redis_conn, "pq") == [p0, p0 + 10, p0 + 20, p0 + 30, p0 + 90, p0 + 100]
    assert "skipping missed periods" in caplog.text
    assert float(redis_conn.hget(LAST_PERIOD_KEY, "ten")) == p0 + 100

    # A scheduler that read stale state (clock skew, an overrunning cycle) cannot enqueue a
    # period twice: the per-period dedupe key stops it.
    clock.now = p0 + 100.4
    first._run_job(schedule["ten"], clock.now, p0 + 80)
    assert periods_in(redis_conn, "pq") == [p0, p0 + 10, p0 + 20, p0 + 30, p0 + 90, p0 + 100]
    assert "was already enqueued" in caplog.text
    ttl = redis_conn.ttl(f"job_lock:periodic:ten:{int(p0 + 100)}")
    assert ttl >= 2 * 10  # the dedupe window covers the period (and then some)


def test_health_is_recorded_by_the_winner(rqjobs_env: str, redis_conn: Any) -> None:
    clock = Clock(time.time())
    sched = Scheduler(Schedule(), tick=15, clock=clock)
    assert sched.run_cycle()
    record = {k.decode(): v.decode() for k, v in redis_conn.hgetall(HEALTH_KEY).items()}
    cycle = int(clock.now // 15)
    assert record["holder"] == sched.holder
    assert record["cycle"] == str(cycle)
    assert record["lock_key"] == cycle_lock_key(cycle)
    assert record["last_tick"].endswith("Z") and "T" in record["last_tick"]
    health = rqjobs.get_scheduler_health()
    assert health["lock_held"] is True
    assert health["holder"] == sched.holder
    assert health["healthy"] is True
    assert 80 < health["lock_ttl"] <= 90
    # Staleness is judged against the scheduler's own tick: more than two ticks is unhealthy.
    assert rqjobs.get_scheduler_health(now=clock.now + 29)["healthy"] is True
    assert rqjobs.get_scheduler_health(now=clock.now + 31)["healthy"] is False


def test_a_new_job_waits_for_its_next_period(rqjobs_env: str, redis_conn: Any) -> None:
    schedule = Schedule(
        [
            PeriodicJob("hourly", periodic_app.noop, every=3600, queue="hq2"),
            PeriodicJob("five", periodic_app.noop, cron="*/5 * * * *", queue="hq2"),
        ]
    )
    hour = aligned(3600) - 7200
    clock = Clock(hour + 500.5)  # mid-period for both jobs: nothing yet
    sched = Scheduler(schedule, tick=15, clock=clock)
    sched.run_cycle()
    assert redis_conn.llen("rq:queue:hq2") == 0
    clock.now = hour + 600.2  # a cron boundary (xx:10)
    sched.run_cycle()
    assert periods_in(redis_conn, "hq2") == [hour + 600]
    clock.now = hour + 900.3
    sched.run_cycle()
    assert periods_in(redis_conn, "hq2") == [hour + 600, hour + 900]
    clock.now = hour + 3600.3  # the hour's boundary; the cron job missed 3300 (caught up)
    sched.run_cycle()
    assert sorted(periods_in(redis_conn, "hq2")) == [
        hour + 600, hour + 900, hour + 3300, hour + 3600, hour + 3600
    ]
    names = [
        job.meta["periodic_job"]
        for job in Job.fetch_many(
            [r.decode() for r in redis_conn.lrange("rq:queue:hq2", 0, -1)], connection=redis_conn
        )
    ]
    assert sorted(names) == ["five", "five", "five", "five", "hourly"]


def slow_enqueue(delay: float) -> Callable[..., Any]:
    def enqueue(*args: Any, **kwargs: Any) -> Any:
        time.sleep(delay)
        return rqjobs.enqueue_with_dedupe(*args, **kwargs)

    return enqueue


def test_an_overrunning_cycle_extends_its_own_lock(
    rqjobs_env: str, redis_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rqjobs.scheduler")
    schedule = Schedule([PeriodicJob(f"j{i}", periodic_app.noop, every=1) for i in range(3)])
    sched = Scheduler(schedule, tick=1, lock_ttl=1, enqueue=slow_enqueue(0.4))
    now = time.time()
    assert sched.run_cycle(now)
    # 1.2 s after acquiring a 1 s lock, it is still ours: it was extended at 70% of the TTL.
    key = cycle_lock_key(int(now // 1))
    assert redis_conn.get(key).decode() == sched.holder
    assert "Extended lock for cycle" in caplog.text
    assert redis_conn.llen("rq:queue:default") == 3


def test_job_options_reach_rq(rqjobs_env: str, redis_conn: Any) -> None:
    schedule = Schedule(
        [
            PeriodicJob(
                "opts",
                "periodic_app.noop",
                every=60,
                queue="oq",
                args=(1, 2),
                kwargs={"ttl": "a function kwarg"},
                job_timeout=42,
                result_ttl=7,
                meta={"team": "ops"},
                description="nightly thing",
            )
        ]
    )
    sched = Scheduler(schedule, tick=15, clock=Clock(aligned(60) + 0.5))
    sched.run_cycle()
    (job_id,) = [raw.decode() for raw in redis_conn.lrange("rq:queue:oq", 0, -1)]
    job = Job.fetch(job_id, connection=redis_conn)
    assert job.args == (1, 2)
    assert job.kwargs == {"ttl": "a function kwarg"}
    assert job.timeout == 42
    assert job.result_ttl == 7
    assert job.description == "nightly thing"
    assert job.meta["team"] == "ops"
    assert job.meta["periodic_job"] == "opts"


def test_scheduler_refuses_bad_settings(rqjobs_env: str) -> None:
    schedule = Schedule([PeriodicJob("x", periodic_app.noop, every=5)])
    with pytest.raises(ValueError, match="tick"):
        Scheduler(schedule, tick=0)
    with pytest.raises(ValueError, match="lock_ttl"):
        Scheduler(schedule, tick=15, lock_ttl=10)
    with pytest.raises(rqjobs.ScheduleError, match="'x'"):
        Scheduler(schedule, tick=15)


def test_a_queue_outside_the_allow_list_fails_at_start_up(
    rqjobs_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQJOBS_QUEUES", "default,reports")
    schedule = Schedule([PeriodicJob("typo", periodic_app.noop, every=60, queue="reprots")])
    with pytest.raises(rqjobs.ScheduleError, match=r"'typo': unknown queue 'reprots'"):
        Scheduler(schedule, tick=15)
