"""ProSaaS's job wrapper: the only module that knows how we talk to Redis and RQ.

It re-exports the ``rqjobs`` runtime, so the rest of the code imports ``get_redis``,
``get_queue``, ``enqueue`` and ``enqueue_with_dedupe`` from here. ``pyproject.toml`` names this
module both as the sanctioned wrapper (``wrapper-modules``, for the linter) and as the place
``flake8-rqjobs fix`` imports from (``wrapper-module``). The connection comes from
``REDIS_URL``; the allowed queue names from ``RQJOBS_QUEUES`` (see ``QUEUES``).
"""

from __future__ import annotations

from rqjobs import (
    enqueue,
    enqueue_with_dedupe,
    generate_deterministic_job_id,
    get_queue,
    get_redis,
)

# Every queue the workers read, highest priority first (`rqjobs worker` takes them in order).
QUEUES = ("webhooks", "calls", "notifications", "recordings", "leads", "reminders", "default")

# How long a provider retry of the same event is answered "duplicate" (the lock's TTL).
EVENT_DEDUPE_TTL = 600


def get_redis_connection():
    """The shared client (the legacy helper's name, kept for old call sites)."""
    return get_redis()


__all__ = [
    "EVENT_DEDUPE_TTL",
    "QUEUES",
    "enqueue",
    "enqueue_with_dedupe",
    "generate_deterministic_job_id",
    "get_queue",
    "get_redis",
    "get_redis_connection",
]
