"""Queue statistics and cluster-wide counters, read without writing anything.

RQ's ``Queue.count``/``registry.count`` run a cleanup first, which writes and costs time
proportional to the expired entries. :func:`get_queue_stats` sends one
non-transactional pipeline of ``LLEN``/``ZCARD`` (O(1) each), so its cost does not grow
with the number of jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from . import scripts, settings
from .connection import call_deadline_scope, get_redis
from .enqueue import raise_translated
from .replies import text as _text

__all__ = ["get_queue_stats", "get_counters", "STATUSES", "known_queue_names"]

# RQ's own status words, in the order the counts are returned.
STATUSES = ("queued", "started", "finished", "failed", "deferred", "scheduled", "canceled")
REGISTRIES = (
    ("started", StartedJobRegistry),
    ("finished", FinishedJobRegistry),
    ("failed", FailedJobRegistry),
    ("deferred", DeferredJobRegistry),
    ("scheduled", ScheduledJobRegistry),
    ("canceled", CanceledJobRegistry),
)


def known_queue_names(connection: Redis | None = None) -> list[str]:
    """Queues in ``rq:queues`` (``SMEMBERS``) plus the ``RQJOBS_QUEUES`` allow-list, sorted.

    ``connection`` defaults to :func:`rqjobs.get_redis`'s shared client."""
    try:
        members = (connection or get_redis()).smembers(Queue.redis_queues_keys)
    except RedisError as exc:
        raise_translated(exc)
    return queue_names_from(members)


def queue_names_from(members: Iterable[Any]) -> list[str]:
    """The sorted queue names of ``SMEMBERS rq:queues`` plus the ``RQJOBS_QUEUES`` allow-list
    (pure: shared by :func:`known_queue_names` and :func:`rqjobs.aio.get_queue_stats`)."""
    prefix = Queue.redis_queue_namespace_prefix
    names = set(settings.allowed_queues() or ())
    for member in members:
        text = _text(member)
        if text.startswith(prefix):
            names.add(text[len(prefix) :])
    return sorted(names)


def stats_keys(name: str) -> tuple[str, list[str]]:
    """``(rq:queue:<name>, [registry keys in STATUSES order])``: read with ``LLEN`` and
    ``ZCARD`` (pure: shared with :mod:`rqjobs.aio`)."""
    return (
        Queue.redis_queue_namespace_prefix + name,
        [registry_class.key_template.format(name) for _, registry_class in REGISTRIES],
    )


def stats_from_counts(names: Sequence[str], counts: Sequence[Any]) -> dict[str, dict[str, int]]:
    """The replies of the :func:`stats_keys` commands, queue after queue, as the stats dict."""
    width = len(STATUSES)
    return {
        name: dict(zip(STATUSES, (int(c) for c in counts[i * width : (i + 1) * width])))
        for i, name in enumerate(names)
    }


def get_queue_stats(
    queues: Sequence[str] | None = None, connection: Redis | None = None
) -> dict[str, dict[str, int]]:
    """``{queue: {queued, started, finished, failed, deferred, scheduled, canceled}}``.

    ``queued`` is ``LLEN rq:queue:<name>``; the others are ``ZCARD`` of RQ's registries
    (``rq:wip:``, ``rq:finished:``, ...). All in one non-transactional pipeline; nothing
    is written. Counts equal RQ's ``registry.count`` after RQ's own cleanup (before it,
    they may include entries whose expiry RQ has not processed yet).
    ``queues=None`` reads every queue in ``rq:queues`` plus the allow-listed ones.
    ``connection`` defaults to the shared client (health checks pass their short-timeout one).
    ``SMEMBERS`` and the pipeline share one deadline (``RQJOBS_CALL_DEADLINE``, retries
    included); raises :class:`rqjobs.errors.RedisUnavailable` when Redis cannot be reached
    in time.
    """
    if isinstance(queues, str):
        raise TypeError("queues must be a sequence of names, not a str")
    with call_deadline_scope():
        names = list(queues) if queues is not None else known_queue_names(connection)
        connection = connection or get_redis()
        pipe = connection.pipeline(transaction=False)
        for name in names:
            queue_key, registry_keys = stats_keys(name)
            pipe.llen(queue_key)
            for registry_key in registry_keys:
                pipe.zcard(registry_key)
        try:
            counts = pipe.execute()
        except RedisError as exc:
            raise_translated(exc)
    return stats_from_counts(names, counts)


def get_counters(connection: Redis | None = None) -> dict[str, dict[str, int]]:
    """``{"enqueued": {queue: n}, "dedupe_hits": {queue: n}}``, for all processes and hosts.

    The enqueue scripts bump ``rqjobs:counters:enqueued`` and ``rqjobs:counters:dedupe_hits``
    (hashes keyed by queue name) in the same atomic step as the enqueue. Read with one
    pipeline of two ``HGETALL``. ``connection`` defaults to the shared client.
    """
    pipe = (connection or get_redis()).pipeline(transaction=False)
    pipe.hgetall(scripts.COUNTERS_ENQUEUED)
    pipe.hgetall(scripts.COUNTERS_DEDUPE_HITS)
    try:
        with call_deadline_scope():
            enqueued, hits = pipe.execute()
    except RedisError as exc:
        raise_translated(exc)
    return {
        "enqueued": {_text(k): int(v) for k, v in enqueued.items()},
        "dedupe_hits": {_text(k): int(v) for k, v in hits.items()},
    }
