"""Health of the job system: queue counts and scheduler liveness, readable from any process.

:func:`get_scheduler_health` reads the ``rqjobs:scheduler:health`` hash that the winning
scheduler writes every cycle and the current cycle's lock key. :func:`health_report` is the
framework-neutral body of ``GET /api/jobs/health``: it returns ``(status_code, body)``.

Health checks use their own client with short timeouts and no retries
(``RQJOBS_HEALTH_TIMEOUT``, default 0.5 s), so that with Redis down the report comes back in
about a second instead of after redis-py's retry loop, before an orchestrator's probe times
out. No error text ever contains the Redis password.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Optional, Sequence, Tuple

from redis.backoff import NoBackoff
from redis.retry import Retry

from .lock import cycle_lock_key
from .scheduler import HEALTH_KEY

__all__ = [
    "get_scheduler_health",
    "health_report",
    "health_connection",
    "safe_error",
]

# One instance, so that get_redis() caches one client for these options.
_NO_RETRY = Retry(NoBackoff(), 0)


def _health_timeout() -> float:
    raw = os.environ.get("RQJOBS_HEALTH_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else 0.5
    except ValueError:
        value = 0.5
    return value if value > 0 else 0.5


def health_connection() -> Any:
    """A cached client for health checks: short connect/read timeouts, no retries."""
    from .connection import get_redis

    timeout = _health_timeout()
    return get_redis(
        socket_connect_timeout=timeout,
        socket_timeout=2 * timeout,
        retry=_NO_RETRY,
        health_check_interval=0,
    )


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def get_scheduler_health(connection: Any = None, now: Optional[float] = None) -> dict[str, Any]:
    """Scheduler liveness as seen from Redis (any process can call it).

    Returns ``last_tick`` (ISO 8601 UTC of the last cycle a scheduler ran, or ``None``),
    ``lock_held`` (a scheduler holds the current cycle's lock), ``lock_ttl`` (seconds left on
    it, or ``None``), ``holder`` (``host:pid:random`` of that lock, else of the last tick),
    ``seconds_since_last_tick``, ``tick``, ``cycle`` and ``healthy`` (``False`` when no
    scheduler has ticked for more than two ticks, or never). Raises redis-py's errors when
    Redis cannot be reached.
    """
    conn = connection if connection is not None else health_connection()
    now = time.time() if now is None else now
    record = {_text(k): _text(v) for k, v in conn.hgetall(HEALTH_KEY).items()}
    if not record.get("last_tick_ts") or not record.get("tick"):
        return {
            "last_tick": None,
            "lock_held": False,
            "lock_ttl": None,
            "holder": None,
            "seconds_since_last_tick": None,
            "tick": None,
            "cycle": None,
            "healthy": False,
        }
    tick = float(record["tick"] or 0) or 15.0
    last_ts = float(record["last_tick_ts"] or 0)
    cycle = int(math.floor(now / tick))
    keys = [cycle_lock_key(cycle)]
    # Just after a slot boundary the new cycle's lock may not be taken yet.
    if now - cycle * tick < min(1.0, tick / 2):
        keys.append(cycle_lock_key(cycle - 1))
    pipe = conn.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
        pipe.pttl(key)
    replies = pipe.execute()
    lock_held, lock_ttl, holder = False, None, record.get("holder")
    for index in range(len(keys)):
        value, pttl = replies[2 * index], replies[2 * index + 1]
        if value is not None and pttl is not None and pttl > 0:
            lock_held, lock_ttl, holder = True, round(pttl / 1000.0, 3), _text(value)
            break
    since = max(0.0, now - last_ts)
    return {
        "last_tick": record.get("last_tick"),
        "lock_held": lock_held,
        "lock_ttl": lock_ttl,
        "holder": holder,
        "seconds_since_last_tick": round(since, 3),
        "tick": tick,
        "cycle": int(record.get("cycle") or 0) if record.get("cycle") else None,
        "healthy": since <= 2 * tick,
    }


def safe_error(exc: BaseException) -> str:
    """One line describing ``exc`` with the Redis URL redacted and no password in it."""
    from .connection import redact_url, url_secrets
    from .settings import redis_url

    url = redis_url()
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").strip()
    text = text.replace(url, redact_url(url))
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text


def health_report(
    queues: Optional[Sequence[str]] = None, *, require_scheduler: bool = True
) -> Tuple[int, dict[str, Any]]:
    """``(200, {"queues": ..., "scheduler": ..., "status": "healthy"})`` or
    ``(503, {"status": "unhealthy", "error": "...", ...})``.

    503 when Redis cannot be reached (in about a second) or, with ``require_scheduler``
    (the default), when no scheduler has ticked for more than two ticks.
    Mount it in any framework: return the body as JSON with the status code.
    """
    from .connection import redact_url
    from .settings import redis_url
    from .stats import get_queue_stats

    try:
        conn = health_connection()
        conn.ping()
        scheduler = get_scheduler_health(conn)
        queue_stats = get_queue_stats(queues, connection=conn)
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", never a 500
        return 503, {
            "status": "unhealthy",
            "error": f"Redis at {redact_url(redis_url())} is unreachable ({safe_error(exc)})",
        }
    body: dict[str, Any] = {"queues": queue_stats, "scheduler": scheduler, "status": "healthy"}
    if require_scheduler and not scheduler["healthy"]:
        body["status"] = "unhealthy"
        if scheduler["last_tick"] is None:
            body["error"] = "no scheduler has ever ticked (start `rqjobs scheduler`)"
        else:
            body["error"] = (
                f"scheduler is stale: last tick {scheduler['seconds_since_last_tick']:.1f}s ago "
                f"(tick {scheduler['tick']:g}s, limit two ticks)"
            )
        return 503, body
    return 200, body
