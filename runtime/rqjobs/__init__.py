"""rqjobs: the compliant RQ + Redis wrapper that fixed code calls.

Every public name is importable from ``rqjobs`` itself; ``__all__`` lists them all,
including ``jobs_bp`` (Flask) and ``render_metrics`` (prometheus-client), which load on
first use because their libraries are optional extras.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import keys, roles, settings, stats
from .batch import JobSpec, enqueue_many, enqueue_many_with_dedupe
from .connection import call_deadline_scope, get_redis, redact_url, reset_redis
from .dedupe import (
    DedupeResult,
    dedupe_status,
    enqueue_with_dedupe,
    enqueue_with_dedupe_result,
    release_dedupe,
)
from .enqueue import enqueue, enqueue_at, enqueue_in
from .errors import (
    ConfigurationError,
    InvalidDedupeKeyError,
    RedisNoPermission,
    RedisOutOfMemory,
    RedisReadOnly,
    RedisRefused,
    RedisUnavailable,
    RoleViolation,
    RqjobsError,
    UnknownQueueError,
)
from .event_jobs import event_job
from .health import get_scheduler_health, health_report
from .job_ids import generate_deterministic_job_id
from .lock import extend_scheduler_lock, try_acquire_scheduler_lock
from .queues import get_queue, get_serializer, get_worker
from .roles import current_role, deprecated_starter, requires_capability, requires_role
from .schedule import PeriodicJob, Schedule, ScheduleError
from .scheduler import Scheduler, run_scheduler
from .stats import get_counters, get_queue_stats
from .worker import RqjobsWorker

_LAZY = {"jobs_bp": "blueprint", "render_metrics": "metrics"}

__all__ = [
    "ConfigurationError",
    "DedupeResult",
    "InvalidDedupeKeyError",
    "JobSpec",
    "PeriodicJob",
    "RedisNoPermission",
    "RedisOutOfMemory",
    "RedisReadOnly",
    "RedisRefused",
    "RedisUnavailable",
    "RoleViolation",
    "RqjobsError",
    "RqjobsWorker",
    "Schedule",
    "ScheduleError",
    "Scheduler",
    "UnknownQueueError",
    "call_deadline_scope",
    "current_role",
    "dedupe_status",
    "deprecated_starter",
    "enqueue",
    "enqueue_at",
    "enqueue_in",
    "enqueue_many",
    "enqueue_many_with_dedupe",
    "enqueue_with_dedupe",
    "enqueue_with_dedupe_result",
    "event_job",
    "extend_scheduler_lock",
    "generate_deterministic_job_id",
    "get_counters",
    "get_queue",
    "get_queue_stats",
    "get_redis",
    "get_scheduler_health",
    "get_serializer",
    "get_worker",
    "health_report",
    "jobs_bp",
    "keys",
    "redact_url",
    "release_dedupe",
    "render_metrics",
    "requires_capability",
    "requires_role",
    "reset_redis",
    "roles",
    "run_scheduler",
    "settings",
    "stats",
    "try_acquire_scheduler_lock",
]


def __getattr__(name: str) -> object:
    """``jobs_bp`` and ``render_metrics``: imported on first use (optional extras)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rqjobs' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
