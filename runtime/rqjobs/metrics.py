"""Prometheus metrics for queues, the scheduler and the wrapper's counters.

Exposed through prometheus-client with a *private* ``CollectorRegistry`` (nothing is added to
the process-wide default registry, so an app that has its own metrics is not disturbed).
Values are read from Redis at scrape time, so any process serves the cluster-wide numbers:

=========================================== ======= ===========================================
metric                                      type    meaning
=========================================== ======= ===========================================
``rq_jobs{queue,status}``                   gauge   jobs per RQ status (rq-exporter's name)
``rqjobs_queue_oldest_job_age_seconds``     gauge   age of the job at the head of each queue
``rqjobs_enqueued_total{queue}``            counter jobs enqueued through ``rqjobs``
``rqjobs_dedupe_hits_total{queue}``         counter duplicates skipped by ``enqueue_with_dedupe``
``rqjobs_scheduler_last_tick_timestamp``    gauge   Unix time of the last scheduler cycle
``rqjobs_scheduler_lock_held``              gauge   1 when a scheduler holds the current cycle
``rqjobs_scheduler_healthy``                gauge   1 when it ticked within two ticks
``rq_workers{name,queues,state}``           gauge   1 per live RQ worker (rq-exporter's name)
``rq_workers_success_total{name,queues}``   counter jobs a worker finished (rq-exporter's name)
``rq_workers_failed_total{name,queues}``    counter jobs a worker failed (rq-exporter's name)
``rq_workers_working_time_total{...}``      counter seconds a worker spent on jobs
``rqjobs_redis_up``                         gauge   0 when Redis could not be read
``rq_scheduled_overdue{queue}``             gauge   scheduled jobs due longer ago than
                                                    ``RQJOBS_SCHEDULED_OVERDUE`` (nobody moves them)
``rqjobs_server_warning{reason}``           gauge   1 when a server setting is dangerous
                                                    (``eviction_policy``: not ``noeviction``)
``rqjobs_health_degraded``                  gauge   1 when health would answer ``degraded``
=========================================== ======= ===========================================

The last three cost one ``INFO memory`` and one pipeline of ``ZCOUNT rq:scheduled:<q> -inf
<now - RQJOBS_SCHEDULED_OVERDUE>`` per scrape; see :mod:`rqjobs.server_checks`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, Optional

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .health import get_scheduler_health, health_connection
from .keys import rq_job, rq_queue
from .replies import text as _text
from .server_checks import REASON_EVICTION, server_warnings

__all__ = [
    "RQJobsCollector",
    "metrics_registry",
    "render_metrics",
    "scheduled_overdue_counts",
    "CONTENT_TYPE_LATEST",
]


def _parse_rq_time(value: Any) -> Optional[float]:
    if not value:
        return None
    text = _text(value)
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            stamp = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return stamp.timestamp()
    return None


def oldest_job_ages(connection: Any, queues: Sequence[str], now: float) -> dict[str, float]:
    """Seconds since the head job of each queue was enqueued (0 for an empty queue).

    Two pipelined round trips: ``LINDEX rq:queue:<q> 0``, then ``HGET rq:job:<id> enqueued_at``.
    """
    pipe = connection.pipeline(transaction=False)
    for name in queues:
        pipe.lindex(rq_queue(name), 0)
    heads = pipe.execute()
    pipe = connection.pipeline(transaction=False)
    for head in heads:
        if head is not None:
            pipe.hget(rq_job(_text(head)), "enqueued_at")
    stamps = iter(pipe.execute())
    ages: dict[str, float] = {}
    for name, head in zip(queues, heads):
        enqueued = _parse_rq_time(next(stamps)) if head is not None else None
        ages[name] = max(0.0, now - enqueued) if enqueued is not None else 0.0
    return ages


def scheduled_overdue_counts(
    connection: Any, queues: Sequence[str], now: float, overdue: float
) -> dict[str, int]:
    """Scheduled jobs per queue due more than ``overdue`` seconds before ``now``.

    One pipeline of ``ZCOUNT rq:scheduled:<q> -inf (<now - overdue>`` (RQ scores scheduled
    jobs by their Unix due time); reads only.
    """
    from rq.registry import ScheduledJobRegistry

    if not queues:
        return {}
    pipe = connection.pipeline(transaction=False)
    for name in queues:
        pipe.zcount(ScheduledJobRegistry.key_template.format(name), "-inf", f"({now - overdue!r}")
    return {name: int(count) for name, count in zip(queues, pipe.execute())}


def _workers(connection: Any) -> list[Any]:
    """RQ's live workers (``rq:workers`` and one hash per worker: O(workers))."""
    from rq import Worker

    return list(Worker.all(connection=connection))


def _worker_metrics(workers: Sequence[Any]) -> Iterator[Metric]:
    state = GaugeMetricFamily(
        "rq_workers", "RQ workers by name, queues and state", labels=["name", "queues", "state"]
    )
    labels = ["name", "queues"]
    success = CounterMetricFamily("rq_workers_success", "Jobs finished per worker", labels=labels)
    failed = CounterMetricFamily("rq_workers_failed", "Jobs failed per worker", labels=labels)
    working = CounterMetricFamily(
        "rq_workers_working_time", "Seconds spent on jobs per worker", labels=labels
    )
    for worker in sorted(workers, key=lambda w: w.name):
        queues = ",".join(worker.queue_names())
        state.add_metric([worker.name, queues, str(worker.get_state())], 1)
        success.add_metric([worker.name, queues], worker.successful_job_count)
        failed.add_metric([worker.name, queues], worker.failed_job_count)
        working.add_metric([worker.name, queues], worker.total_working_time)
    yield state
    yield success
    yield failed
    yield working


class RQJobsCollector:
    """A prometheus-client custom collector that reads everything from Redis per scrape."""

    def __init__(self, queues: Optional[Sequence[str]] = None) -> None:
        self.queues = list(queues) if queues is not None else None

    def describe(self) -> list[Metric]:
        return []  # values depend on Redis; never collect at registration time

    def collect(self) -> Iterator[Metric]:
        import rqjobs
        from rqjobs import settings
        from rqjobs import stats as stats_module

        up = GaugeMetricFamily("rqjobs_redis_up", "1 when Redis answered this scrape")
        try:
            conn = health_connection()
            conn.ping()
            queue_stats = rqjobs.get_queue_stats(self.queues, connection=conn)
            scheduler = get_scheduler_health(conn)
            counters = stats_module.get_counters(conn)
            now = time.time()
            ages = oldest_job_ages(conn, sorted(queue_stats), now)
            workers = _workers(conn)
            warnings = server_warnings(conn)
            late = scheduled_overdue_counts(
                conn, sorted(queue_stats), now, settings.scheduled_overdue()
            )
        except Exception:  # noqa: BLE001 - a scrape reports Redis down, it does not fail
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        jobs = GaugeMetricFamily(
            "rq_jobs", "RQ jobs by queue and status", labels=["queue", "status"]
        )
        for queue, counts in sorted(queue_stats.items()):
            for status, count in counts.items():
                jobs.add_metric([queue, status], count)
        yield jobs

        yield from _worker_metrics(workers)

        overdue = GaugeMetricFamily(
            "rq_scheduled_overdue",
            "Scheduled jobs due more than RQJOBS_SCHEDULED_OVERDUE seconds ago, per queue",
            labels=["queue"],
        )
        for queue, count in sorted(late.items()):
            overdue.add_metric([queue], count)
        yield overdue
        server = GaugeMetricFamily(
            "rqjobs_server_warning",
            "1 when a Redis server setting loses or repeats jobs (see rqjobs.server_checks)",
            labels=["reason"],
        )
        reasons = {item.reason for item in warnings}
        for reason in sorted(reasons | {REASON_EVICTION}):
            server.add_metric([reason], 1 if reason in reasons else 0)
        yield server
        degraded = GaugeMetricFamily(
            "rqjobs_health_degraded",
            "1 when health answers degraded: a server warning or overdue scheduled jobs",
        )
        degraded.add_metric([], 1 if warnings or any(late.values()) else 0)
        yield degraded

        oldest = GaugeMetricFamily(
            "rqjobs_queue_oldest_job_age_seconds",
            "Seconds the job at the head of the queue has waited (0 when empty)",
            labels=["queue"],
        )
        for queue, age in sorted(ages.items()):
            oldest.add_metric([queue], age)
        yield oldest

        enqueued = CounterMetricFamily(
            "rqjobs_enqueued", "Jobs enqueued through rqjobs, per queue", labels=["queue"]
        )
        for queue, count in sorted(counters.get("enqueued", {}).items()):
            enqueued.add_metric([queue], count)
        yield enqueued
        hits = CounterMetricFamily(
            "rqjobs_dedupe_hits",
            "Duplicates skipped by enqueue_with_dedupe, per queue",
            labels=["queue"],
        )
        for queue, count in sorted(counters.get("dedupe_hits", {}).items()):
            hits.add_metric([queue], count)
        yield hits

        last_tick = GaugeMetricFamily(
            "rqjobs_scheduler_last_tick_timestamp",
            "Unix time of the last cycle a scheduler ran (0 when never)",
        )
        ts = 0.0
        if scheduler["last_tick"] is not None:
            ts = now - float(scheduler["seconds_since_last_tick"])
        last_tick.add_metric([], ts)
        yield last_tick
        held = GaugeMetricFamily(
            "rqjobs_scheduler_lock_held", "1 when a scheduler holds the current cycle's lock"
        )
        held.add_metric([], 1 if scheduler["lock_held"] else 0)
        yield held
        healthy = GaugeMetricFamily(
            "rqjobs_scheduler_healthy", "1 when a scheduler ticked within the last two ticks"
        )
        healthy.add_metric([], 1 if scheduler["healthy"] else 0)
        yield healthy


_registry: Optional[CollectorRegistry] = None


def metrics_registry(queues: Optional[Sequence[str]] = None) -> CollectorRegistry:
    """A new private registry holding a :class:`RQJobsCollector`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RQJobsCollector(queues))  # type: ignore[arg-type]
    return registry


def render_metrics(registry: Optional[CollectorRegistry] = None) -> tuple[bytes, str]:
    """``(body, content_type)`` of the Prometheus text exposition."""
    global _registry
    if registry is None:
        if _registry is None:
            _registry = metrics_registry()
        registry = _registry
    return generate_latest(registry), CONTENT_TYPE_LATEST
