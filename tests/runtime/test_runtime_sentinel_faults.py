"""A failover mid-storm: real sentinels, a SIGKILLed primary, a replication link cut 1 s before.

Two producer processes deliver the same events with ``enqueue_with_dedupe`` through a
``redis+sentinel://`` URL and re-send every delivery that errored (a provider after a
5xx); two ``rqjobs worker`` processes and an ``rqjobs scheduler`` run on the same URL.
1 s before the SIGKILL both replicas' links are frozen (their proxies stop forwarding), so
the replica that Sentinel promotes lacks the last second of writes; the other replica then
follows the new primary (two replicas: with one, nothing is left to acknowledge after the
failover until the old primary rejoins).

* With replica acknowledgement (``RQJOBS_MIN_REPLICAS=1``): no acknowledged event is lost,
  no acknowledged event is accepted a second time, enqueues resume within
  down-after + promotion + one call deadline of the kill, one scheduler job per period.
* Without: the acknowledged events that never ran are counted and printed (README quotes
  them).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtime_support import kill_session, start_rqjobs_worker  # noqa: E402
from sentinel_support import (  # noqa: E402
    DOWN_AFTER_MS,
    HERE,
    PERIOD,
    SentinelCluster,
    read_lines,
    start_producer,
)

EVENTS = 900
RATE = 150.0  # deliveries per second per producer
FREEZE_AT = 2.0  # seconds into the storm
CALL_DEADLINE = 10.0


def _surviving(cluster: SentinelCluster, events: list[str]) -> dict[str, Any]:
    """Per event, what the new primary holds: ``None`` (nothing) or the job's enqueued_at
    (``"lock"`` when only the lock is left)."""
    from rq.job import Job
    from rqjobs.job_ids import generate_deterministic_job_id
    from rqjobs.keys import LOCK_PREFIX

    client = cluster.client(cluster.master_port)
    pipe = client.pipeline(transaction=False)
    for event in events:
        key = f"storm:{event}"
        pipe.exists(LOCK_PREFIX + key)
        pipe.hget(Job.key_for(generate_deterministic_job_id(key)), "enqueued_at")
    replies = pipe.execute()
    held: dict[str, Any] = {}
    for index, event in enumerate(events):
        lock, enqueued = replies[2 * index], replies[2 * index + 1]
        if enqueued is not None:
            held[event] = enqueued.decode()
        elif lock:
            held[event] = "lock"
        else:
            held[event] = None
    return held


def _enqueued_periods(cluster: SentinelCluster) -> set[float]:
    """Periods whose dedupe lock the new primary holds (the scheduler enqueued them)."""
    client = cluster.client(cluster.master_port)
    prefix = "job_lock:periodic:storm-tick:"
    return {float(key.decode()[len(prefix) :]) for key in client.scan_iter(match=prefix + "*")}


def run_storm(workdir: Path, *, min_replicas: int) -> dict[str, Any]:
    cluster = SentinelCluster(workdir / "cluster").start()
    procs: list[subprocess.Popen[bytes]] = []
    workers: list[subprocess.Popen[bytes]] = []
    runs = workdir / "runs.jsonl"
    periods = workdir / "periods.jsonl"
    env = {
        "RQJOBS_MIN_REPLICAS": str(min_replicas),
        "RQJOBS_REPLICA_TIMEOUT_MS": "300",
        "SENTINEL_TEST_PERIODS": str(periods),
        "RQJOBS_CALL_DEADLINE": str(CALL_DEADLINE),
    }
    try:
        url = cluster.url()
        for index, queues in enumerate((["storm"], ["ticks"])):
            workers.append(
                start_rqjobs_worker(
                    url, queues, log_path=workdir / f"worker{index}.log", scheduler=False, env=env
                )
            )
        scheduler_env = dict(os.environ, REDIS_URL=url, PYTHONPATH=str(HERE), **env)
        scheduler_env.pop("SERVICE_ROLE", None)
        with open(workdir / "scheduler.log", "ab") as log:
            procs.append(
                subprocess.Popen(
                    [
                        str(Path(sys.executable).with_name("rqjobs")),
                        "scheduler",
                        "--schedule",
                        "sentinel_support:storm_schedule",
                        "--tick",
                        "1",
                    ],
                    cwd=str(HERE),
                    env=scheduler_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )
        events = [f"e{i:05d}" for i in range(EVENTS)]
        outs = []
        for index in range(2):
            order = list(events)
            random.Random(index).shuffle(order)
            out = workdir / f"producer{index}.jsonl"
            outs.append(out)
            procs.append(start_producer(url, f"p{index}", order, RATE, runs, out, env))
        storm_started = time.time()
        time.sleep(FREEZE_AT)
        cluster.freeze_replication()
        time.sleep(1.0)
        killed_at = cluster.kill_primary()
        promoted_at = cluster.wait_promotion()
        for proc in procs[1:]:
            proc.wait(timeout=90)
        held = _surviving(cluster, events)
        time.sleep(2 * PERIOD)  # the scheduler's next periods, on the new master
        ended_at = time.time()
        enqueued_periods = _enqueued_periods(cluster)
        # rq's worker backs off 1, 2, 4, 8, ... s (up to 60) after connection errors: let it
        # come back and run the ticks.
        master = cluster.client(cluster.master_port)
        deadline = time.monotonic() + 70
        while time.monotonic() < deadline and (
            master.llen("rq:queue:ticks") or master.zcard("rq:wip:ticks")
        ):
            time.sleep(0.2)
        blocked = [
            entry.get("cmd") for entry in master.client_list() if entry.get("cmd") == "blmove"
        ]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for worker in workers:
            kill_session(worker.pid)
        cluster.stop()

    deliveries = [row for out in outs for row in read_lines(out)]
    acks = [row for row in deliveries if "ack" in row]
    errors = [row for row in deliveries if "error" in row]
    ran = read_lines(runs)
    run_count = Counter(row["event"] for row in ran)
    accepts_run: dict[str, set[str]] = defaultdict(set)
    for row in ran:
        accepts_run[row["event"]].add(_stamp(row["enqueued_at"]))
    acked_events = {row["event"] for row in acks}
    # Acknowledged, yet the new primary holds nothing for it and it never ran: lost.
    lost = sorted(event for event in acked_events if held[event] is None and not run_count[event])
    # An accept answered 2xx whose own write vanished with the old primary (neither run nor
    # the job the new primary holds), even if a later delivery was accepted again.
    lost_accepts = [
        row
        for row in acks
        if row["accepted"]
        and _stamp(row["enqueued_at"]) not in accepts_run[row["event"]]
        and _stamp(row["enqueued_at"]) != _stamp(held[row["event"]])
    ]
    first_ack: dict[str, float] = {}
    for row in acks:
        first_ack[row["event"]] = min(first_ack.get(row["event"], row["ack"]), row["ack"])
    # An acknowledged event accepted again later: a second accept built after the first ack.
    reaccepted = sorted(
        {row["event"] for row in acks if row["accepted"] and row["sent"] > first_ack[row["event"]]}
    )
    after_kill = [row["ack"] for row in acks if row["sent"] >= killed_at]
    resumed_at = min(after_kill) if after_kill else None
    period_rows = read_lines(periods)
    per_period = Counter(row["period"] for row in period_rows)
    # Every period from the first one the scheduler enqueued to the last full one must be
    # held (lock + job) on the new primary: none lost with the old one, none skipped.
    first_period = min(enqueued_periods) if enqueued_periods else storm_started
    expected_periods = {
        first_period + n * PERIOD for n in range(int((ended_at - 1.5 - first_period) // PERIOD) + 1)
    }
    return {
        "min_replicas": min_replicas,
        "events": len(set(row["event"] for row in deliveries)),
        "acknowledged": len(acked_events),
        "errors": len(errors),
        "errors_after_kill": sum(1 for row in errors if row["at"] >= killed_at),
        "lost": len(lost),
        "lost_accepts": len(lost_accepts),
        "ran_twice": sum(1 for count in run_count.values() if count > 1),
        "ran_twice_two_accepts": sum(1 for event in accepts_run if len(accepts_run[event]) > 1),
        "reaccepted_after_ack": len(reaccepted),
        "promotion_s": round(promoted_at - killed_at, 2),
        "resume_s": round(resumed_at - killed_at, 2) if resumed_at else None,
        "periods_twice": sorted(p for p, n in per_period.items() if n > 1),
        "periods_missing": sorted(expected_periods - enqueued_periods),
        "periods_not_run": sorted(enqueued_periods - set(per_period)),
        "blocked_poppers": len(blocked),
    }


def _stamp(value: Any) -> str:
    return str(value or "")[:26]  # microseconds; the timezone suffix differs


def _print(stats: dict[str, Any]) -> None:
    print("\nSENTINEL STORM " + " ".join(f"{key}={value}" for key, value in stats.items()))


@pytest.mark.slow
def test_replica_ack_loses_no_acknowledged_event(tmp_path: Path) -> None:
    stats = run_storm(tmp_path, min_replicas=1)
    _print(stats)
    assert stats["acknowledged"] == EVENTS  # every event was answered in the end
    assert stats["lost"] == 0, stats
    assert stats["lost_accepts"] == 0, stats
    assert stats["reaccepted_after_ack"] == 0, stats
    bound = DOWN_AFTER_MS / 1000 + stats["promotion_s"] + CALL_DEADLINE
    assert stats["resume_s"] is not None and stats["resume_s"] <= bound, stats
    # A period whose enqueue was not acknowledged (the cycle failed) may already have run
    # on the old primary; the next holder enqueues it again: at most that one runs twice.
    assert len(stats["periods_twice"]) <= 1, stats
    assert stats["periods_missing"] == [], stats
    if stats["periods_not_run"]:
        tail = (tmp_path / "worker1.log").read_text(errors="replace").splitlines()[-15:]
        pytest.fail(f"the ticks worker ran nothing after the failover: {stats}\n" + "\n".join(tail))


@pytest.mark.slow
def test_without_replica_ack_the_loss_is_counted(tmp_path: Path) -> None:
    stats = run_storm(tmp_path, min_replicas=0)
    _print(stats)
    assert stats["acknowledged"] == EVENTS
    assert stats["resume_s"] is not None
    # The loss itself depends on the rate; it is printed (and quoted in the README).
    assert stats["lost"] >= 0
    assert stats["periods_missing"] == [], stats
