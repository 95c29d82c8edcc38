"""Redis server settings that silently break job delivery, found at start-up and by health.

The one checked today is the eviction policy. With ``maxmemory`` set and a policy other
than ``noeviction``, Redis deletes keys to make room instead of refusing writes:

* ``volatile-*`` evicts keys that have an expiry first. In ``rqjobs`` those are the dedupe
  locks (``job_lock:<key>``, ``SET ... EX``): they vanish and a redelivered event runs twice.
* ``allkeys-*`` evicts any key: queue lists, job hashes and registries, so jobs that
  ``enqueue`` acknowledged are lost.

Sidekiq and BullMQ warn about the same thing at start-up. :func:`server_warnings` reads the
policy with ``INFO memory`` (field ``maxmemory_policy``), falling back to
``CONFIG GET maxmemory-policy`` (managed Redis services often refuse ``CONFIG``), and returns
one :class:`ServerWarning` per problem; nothing is written to Redis. When neither command is
allowed the policy is unknown and no warning is returned (:func:`log_server_warnings` logs
that at INFO level). :func:`log_server_warnings` is what the worker and the scheduler call
when they start; :func:`rqjobs.health.health_report` turns the same warnings into the
``degraded`` status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

from redis.exceptions import RedisError, ResponseError

from .replies import text_or_none as _text

__all__ = [
    "ServerWarning",
    "eviction_policy",
    "eviction_warnings",
    "server_warnings",
    "log_server_warnings",
    "SAFE_POLICY",
]

SAFE_POLICY = "noeviction"

#: ``reason`` of a warning about ``maxmemory-policy`` (the ``reason`` label of
#: ``rqjobs_server_warning`` in :mod:`rqjobs.metrics`).
REASON_EVICTION = "eviction_policy"


@dataclass(frozen=True)
class ServerWarning:
    """One dangerous server setting: ``reason`` is a stable code (a metric label), ``message``
    one line saying what goes wrong and how to fix it."""

    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


def eviction_policy(connection: Any) -> Optional[str]:
    """The server's ``maxmemory-policy``, or ``None`` when it cannot be read.

    Sends ``INFO memory`` (read-only, allowed on managed services); only when that reply has no
    ``maxmemory_policy`` field (or ``INFO`` is refused) it sends ``CONFIG GET
    maxmemory-policy``. A refused command (``NOPERM``, renamed/disabled ``CONFIG``) gives
    ``None``; a connection error is raised.
    """
    try:
        info = connection.info("memory")
    except ResponseError:
        info = {}
    policy = _text(info.get("maxmemory_policy")) if isinstance(info, dict) else None
    if policy:
        return policy
    try:
        reply = connection.config_get("maxmemory-policy")
    except ResponseError:
        return None
    if isinstance(reply, dict):
        for key, value in reply.items():
            if _text(key) == "maxmemory-policy":
                return _text(value) or None
    return None


def eviction_warnings(policy: Optional[str]) -> list[ServerWarning]:
    """The warnings for ``policy`` (a ``maxmemory-policy`` value): none for ``noeviction`` or
    an unknown (``None``) policy, one for any other."""
    if not policy or policy == SAFE_POLICY:
        return []
    if policy.startswith("volatile-"):
        message = (
            f"maxmemory-policy is {policy}: Redis evicts keys with an expiry first, which are "
            "exactly the dedupe locks, so redeliveries run twice; set noeviction "
            "(CONFIG SET maxmemory-policy noeviction, or your provider's parameter group)"
        )
    elif policy.startswith("allkeys-"):
        message = (
            f"maxmemory-policy is {policy}: Redis may evict queued jobs: acknowledged events "
            "are lost (and dedupe locks vanish, so redeliveries run twice); set noeviction "
            "(CONFIG SET maxmemory-policy noeviction, or your provider's parameter group)"
        )
    else:
        message = (
            f"maxmemory-policy is {policy}: Redis may delete job data under memory pressure; "
            "set noeviction (CONFIG SET maxmemory-policy noeviction)"
        )
    return [ServerWarning(REASON_EVICTION, message)]


def server_warnings(connection: Any) -> list[ServerWarning]:
    """Every dangerous setting of the server behind ``connection`` (see the module docstring).

    Reads only: ``INFO memory``, and ``CONFIG GET maxmemory-policy`` when ``INFO`` does not
    tell. An empty list means nothing dangerous was found (or the policy could not be read).
    Raises redis-py's connection errors when Redis cannot be reached.
    """
    return eviction_warnings(eviction_policy(connection))


def log_server_warnings(
    connection: Any, logger: Optional[logging.Logger] = None
) -> list[ServerWarning]:
    """Log each :func:`server_warnings` finding at WARNING level; return them.

    Meant for process start-up (``rqjobs worker``, ``rqjobs scheduler``): one ``INFO memory``
    (plus ``CONFIG GET`` when needed), nothing written. It never raises: when Redis cannot be
    asked, it logs that at WARNING level and returns ``[]``, so a start-up is not stopped by
    the check (the process's own first command reports the outage). An unreadable policy is
    logged at INFO level. ``logger`` defaults to the ``rqjobs.server_checks`` logger.
    """
    log = logger if logger is not None else logging.getLogger(__name__)
    try:
        policy = eviction_policy(connection)
    except (RedisError, OSError) as exc:
        from .health import safe_error

        log.warning("Could not check the Redis server settings: %s", safe_error(exc))
        return []
    if policy is None:
        log.info(
            "Could not read maxmemory-policy (INFO and CONFIG GET refused); make sure it is "
            "noeviction, or dedupe locks and queued jobs can be evicted"
        )
        return []
    found = eviction_warnings(policy)
    for item in found:
        log.warning("Redis server setting: %s", item.message)
    return found
