"""rqjobs: the compliant RQ + Redis wrapper that fixed code calls.

Every public name is importable from ``rqjobs`` itself.
"""

from __future__ import annotations

__version__ = "0.1.0"

# --- runtime core (connection, enqueue, dedupe, ids, stats, roles) ---
from . import roles, settings, stats  # noqa: E402
from .connection import get_redis, redact_url, reset_redis  # noqa: E402
from .dedupe import enqueue_with_dedupe  # noqa: E402
from .enqueue import enqueue  # noqa: E402
from .errors import (  # noqa: E402
    ConfigurationError,
    InvalidDedupeKeyError,
    RedisUnavailable,
    RoleViolation,
    RqjobsError,
    UnknownQueueError,
)
from .job_ids import generate_deterministic_job_id  # noqa: E402
from .queues import get_queue, get_serializer, get_worker  # noqa: E402
from .roles import current_role, deprecated_starter, requires_capability, requires_role  # noqa: E402
from .stats import get_counters, get_queue_stats  # noqa: E402

__all__ = [
    "ConfigurationError",
    "InvalidDedupeKeyError",
    "RedisUnavailable",
    "RoleViolation",
    "RqjobsError",
    "UnknownQueueError",
    "current_role",
    "deprecated_starter",
    "enqueue",
    "enqueue_with_dedupe",
    "generate_deterministic_job_id",
    "get_counters",
    "get_queue",
    "get_queue_stats",
    "get_redis",
    "get_serializer",
    "get_worker",
    "redact_url",
    "requires_capability",
    "requires_role",
    "reset_redis",
    "roles",
    "settings",
    "stats",
]
# --- end runtime core ---

# --- scheduling and observability (scheduler, health, metrics) ---
from .health import get_scheduler_health, health_report  # noqa: E402
from .lock import extend_scheduler_lock, try_acquire_scheduler_lock  # noqa: E402
from .schedule import PeriodicJob, Schedule, ScheduleError  # noqa: E402
from .scheduler import Scheduler, run_scheduler  # noqa: E402

__all__ += [
    "PeriodicJob",
    "Schedule",
    "ScheduleError",
    "Scheduler",
    "extend_scheduler_lock",
    "get_scheduler_health",
    "health_report",
    "run_scheduler",
    "try_acquire_scheduler_lock",
]  # jobs_bp and render_metrics load on first use (Flask, prometheus-client are extras)


def __getattr__(name: str) -> object:
    # Flask and prometheus-client are optional extras: import them on first use only.
    if name == "jobs_bp":
        from .blueprint import jobs_bp

        return jobs_bp
    if name == "render_metrics":
        from .metrics import render_metrics

        return render_metrics
    raise AttributeError(f"module 'rqjobs' has no attribute {name!r}")


# --- end scheduling and observability ---
