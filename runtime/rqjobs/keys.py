"""Every Redis key the runtime reads or writes, in one place.

Ours (``rqjobs:*`` and ``job_lock:*``):

====================================== ======== ==============================================
key                                    type     what
====================================== ======== ==============================================
``job_lock:<dedupe key>``              string   the dedupe window: the enqueue's token, or
                                                ``done:<token>`` once the job finished (TTL)
``rqjobs:counters:enqueued``           hash     queue -> jobs enqueued through rqjobs
``rqjobs:counters:dedupe_hits``        hash     queue -> duplicates answered
``rqjobs:alive:<job id>``              string   a running job's beat (worker name, PX TTL)
``rqjobs:scheduler:lock:<cycle>``      string   the periodic scheduler's cycle holder (TTL)
``rqjobs:scheduler:last_period``       hash     periodic job -> newest period enqueued
``rqjobs:scheduler:health``            hash     the last tick, written by the cycle's holder
``rqjobs:health:probe:<host>:<pid>``   string   health's write probe (PX 10 s)
====================================== ======== ==============================================

RQ's (read, and written by the enqueue scripts exactly as RQ writes them), under RQ's key
prefix ``rq`` (``RQ_KEY_PREFIX`` in rq 3): ``rq:job:<id>``, ``rq:queue:<name>`` (and its
``:intermediate`` list), ``rq:queues``, the registries ``rq:<kind>:<name>`` (``wip``,
``finished``, ``failed``, ``canceled``, ``scheduled``, ``deferred``), ``rq:executions:<id>``,
``rq:results:<id>`` and ``rq:scheduler-lock:<name>``.
"""

from __future__ import annotations

__all__ = [
    "LOCK_PREFIX",
    "COUNTERS_ENQUEUED",
    "COUNTERS_DEDUPE_HITS",
    "ALIVE_PREFIX",
    "SCHEDULER_LOCK_PREFIX",
    "SCHEDULER_LAST_PERIOD",
    "SCHEDULER_HEALTH",
    "HEALTH_PROBE_PREFIX",
    "RQ_PREFIX",
    "RQ_QUEUES",
    "rq_queue",
    "rq_registry",
    "rq_job",
]

LOCK_PREFIX = "job_lock:"
COUNTERS_ENQUEUED = "rqjobs:counters:enqueued"
COUNTERS_DEDUPE_HITS = "rqjobs:counters:dedupe_hits"
ALIVE_PREFIX = "rqjobs:alive:"  # spelled out in rqjobs.scripts.DEDUPE_STATE
SCHEDULER_LOCK_PREFIX = "rqjobs:scheduler:lock:"
SCHEDULER_LAST_PERIOD = "rqjobs:scheduler:last_period"
SCHEDULER_HEALTH = "rqjobs:scheduler:health"
HEALTH_PROBE_PREFIX = "rqjobs:health:probe:"


def _rq_prefix() -> str:
    try:
        from rq.defaults import RQ_KEY_PREFIX
    except ImportError:  # rq 2 has no configurable prefix
        return "rq"
    return str(RQ_KEY_PREFIX)


RQ_PREFIX = _rq_prefix()
RQ_QUEUES = f"{RQ_PREFIX}:queues"


def rq_queue(name: str) -> str:
    """``rq:queue:<name>``: the list of queued job ids."""
    return f"{RQ_PREFIX}:queue:{name}"


def rq_registry(kind: str, name: str) -> str:
    """``rq:<kind>:<name>`` for ``wip`` (started), ``finished``, ``failed``, ``canceled``,
    ``scheduled`` and ``deferred``."""
    return f"{RQ_PREFIX}:{kind}:{name}"


def rq_job(job_id: str) -> str:
    """``rq:job:<id>``: the job hash."""
    return f"{RQ_PREFIX}:job:{job_id}"
