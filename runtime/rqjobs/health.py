"""Health of the job system: can jobs be enqueued, queue counts, scheduler liveness.

:func:`get_scheduler_health` reads the ``rqjobs:scheduler:health`` hash that the winning
scheduler writes every cycle and the current cycle's lock key. :func:`health_report` is the
framework-neutral body of ``GET /api/jobs/health``: it returns ``(status_code, body)``.

What one :func:`health_report` sends to Redis, whatever the number of queues:

1. ``EVALSHA`` of a tiny Lua script that runs ``SET rqjobs:health:probe:<host>:<pid> <ts> PX
   10000`` (the write probe, the same path as ``enqueue``: a script that writes). A read-only
   replica (``READONLY``), an ACL user without scripting or write permission (``NOPERM``), a
   full server (``OOM``) or a failed snapshot (``MISCONF``) make health 503 ``unhealthy``.
2. ``HGETALL rqjobs:scheduler:health`` and ``GET``/``PTTL`` of the cycle lock (scheduler).
3. ``INFO memory`` (``CONFIG GET maxmemory-policy`` if needed): see :mod:`rqjobs.server_checks`.
4. ``SCARD rq:queues`` and, unless the queues were named (argument or ``RQJOBS_QUEUES``), one
   ``SSCAN rq:queues 0 COUNT 2*cap`` (cap ``RQJOBS_HEALTH_MAX_QUEUES``, 50).
5. One pipeline for the listed queues: ``LLEN rq:queue:<q>``, ``ZCARD`` of ``rq:wip:<q>``,
   ``rq:finished:<q>``, ``rq:failed:<q>``, ``rq:deferred:<q>``, ``rq:scheduled:<q>``,
   ``rq:canceled:<q>`` and ``ZCOUNT rq:scheduled:<q> -inf <now - RQJOBS_SCHEDULED_OVERDUE>``.

A dangerous server setting or overdue scheduled jobs make the status ``degraded``: HTTP 200
(the process still serves, keep it in rotation) with a ``warnings`` list (alert on it).

Health checks use their own client with short timeouts and no retries
(``RQJOBS_HEALTH_TIMEOUT``, default 0.5 s), so that with Redis down the report comes back in
about a second instead of after redis-py's retry loop, before an orchestrator's probe times
out. No error text ever contains the Redis password.
"""

from __future__ import annotations

import hmac
import math
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

from redis.backoff import NoBackoff
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)
from redis.retry import Retry

from . import settings
from .keys import HEALTH_PROBE_PREFIX, RQ_QUEUES, SCHEDULER_HEALTH, rq_queue
from .lock import cycle_lock_key
from .replies import text_or_none as _text
from .stats import REGISTRIES, STATUSES

__all__ = [
    "get_scheduler_health",
    "health_report",
    "health_connection",
    "safe_error",
    "write_probe",
    "select_queues",
    "queue_counts",
    "QueueSelection",
    "PROBE_PREFIX",
    "STATUSES",
]

# One instance, so that get_redis() caches one client for these options.
_NO_RETRY = Retry(NoBackoff(), 0)


def health_connection() -> Any:
    """A cached client for health checks: short connect/read timeouts, no retries."""
    from .connection import get_redis

    timeout = settings.health_timeout()
    return get_redis(
        socket_connect_timeout=timeout,
        socket_timeout=2 * timeout,
        retry=_NO_RETRY,
        health_check_interval=0,
    )


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
    record = {_text(k): _text(v) for k, v in conn.hgetall(SCHEDULER_HEALTH).items()}
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


# -- write probe ----------------------------------------------------------------------------

PROBE_PREFIX = HEALTH_PROBE_PREFIX
PROBE_TTL_MS = 10_000

# KEYS: 1 probe key. ARGV: 1 value (Unix time), 2 expiry in milliseconds.
WRITE_PROBE = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


def probe_key() -> str:
    """``rqjobs:health:probe:<host>:<pid>``: one short-lived key per checking process."""
    return f"{PROBE_PREFIX}{socket.gethostname()}:{os.getpid()}"


def write_probe(connection: Any, now: Optional[float] = None) -> None:
    """Prove that this client can enqueue: run a Lua script that writes.

    ``EVALSHA`` (``SCRIPT LOAD`` once after ``NOSCRIPT``, see :func:`rqjobs.scripts.run`) of
    ``SET rqjobs:health:probe:<host>:<pid> <now> PX 10000``: the key expires by itself, so
    nothing accumulates. Raises redis-py's ``ReadOnlyError`` on a replica,
    ``NoPermissionError`` (or a ``ResponseError`` from inside the script) for an ACL user
    without ``EVALSHA`` or write permission, ``OutOfMemoryError`` when ``maxmemory`` is reached
    with ``noeviction``, and connection errors when Redis cannot be reached.
    """
    from . import scripts

    stamp = repr(time.time() if now is None else now)
    scripts.run(WRITE_PROBE, connection, [probe_key()], [stamp, PROBE_TTL_MS])


def _acl_user(url: str) -> Optional[str]:
    """The ACL user name in ``url`` when it is safe to show (never a password-only URL)."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password is None:
        return None  # redis://secret@host: the "user" is the password
    return unquote(parts.username) if parts.username else "default"


def describe_failure(exc: BaseException) -> str:
    """One line naming why health failed and what to do about it; no password in it."""
    from .connection import redact_url
    from .errors import ConfigurationError
    from .settings import redis_url

    if isinstance(exc, ConfigurationError):
        return f"configuration error: {exc}".replace("\n", " ")
    url = redis_url()
    where = f"Redis at {redact_url(url)}"
    detail = safe_error(exc)
    message = str(exc)
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError)):
        return f"{where} is unreachable ({detail})"
    if isinstance(exc, ReadOnlyError) or message.startswith("READONLY"):
        return (
            f"{where} refused the write probe with READONLY ({detail}): it is a read-only "
            "replica, so nothing can be enqueued; point REDIS_URL at the primary"
        )
    lowered = message.lower()
    if (
        isinstance(exc, NoPermissionError)
        or "no permissions" in lowered
        or "can't run this command" in lowered
    ):
        user = _acl_user(url) or "<user>"
        return (
            f"{where} refused the write probe with NOPERM ({detail}): ACL user {user!r} cannot "
            "run the enqueue scripts or write their keys; grant them, e.g. "
            f"ACL SETUSER {user} +@read +@write +evalsha +eval +script|load "
            "~rq:* ~rqjobs:* ~job_lock:*"
        )
    if isinstance(exc, OutOfMemoryError) or message.startswith("OOM"):
        return (
            f"{where} refused the write probe with OOM ({detail}): used memory is over "
            "maxmemory, so nothing can be enqueued; raise maxmemory or free memory"
        )
    if message.startswith("MISCONF"):
        return (
            f"{where} refused the write probe with MISCONF ({detail}): its last snapshot "
            "failed and it stops writes; fix the disk or snapshot configuration"
        )
    if isinstance(exc, ResponseError):
        return f"{where} refused the write probe ({detail}): nothing can be enqueued"
    return f"{where} could not be checked ({detail})"


# -- queues ---------------------------------------------------------------------------------

QUEUE_PREFIX = rq_queue("")
QUEUES_KEY = RQ_QUEUES


def _registry_templates() -> tuple[str, ...]:
    """The key templates of RQ's registries, from the installed RQ (``rq:wip:{0}``...), in
    the order of :data:`rqjobs.stats.STATUSES` after ``queued``."""
    return tuple(cls.key_template for _, cls in REGISTRIES)


@dataclass(frozen=True)
class QueueSelection:
    """Which queues health reports: ``names`` (sorted), ``total`` (``SCARD rq:queues``),
    ``truncated`` (more queues exist than are listed) and ``source`` (``"requested"``,
    ``"allow-list"`` or ``"rq:queues"``)."""

    names: tuple[str, ...]
    total: int
    truncated: bool
    source: str

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "listed": len(self.names),
            "truncated": self.truncated,
            "source": self.source,
        }


def select_queues(
    connection: Any, queues: Optional[Sequence[str]] = None, cap: Optional[int] = None
) -> QueueSelection:
    """The queues to report, at a cost that does not grow with the number of queue names.

    ``queues`` when given (all of them); else the ``RQJOBS_QUEUES`` allow-list (its first
    ``cap``); else at most ``cap`` names (default ``RQJOBS_HEALTH_MAX_QUEUES``) from one
    ``SSCAN rq:queues 0 COUNT 2*cap``: which ones is Redis's hash order, not a ranking. One
    pipeline, ``SCARD rq:queues`` for the total, plus the ``SSCAN`` when it is needed.
    """
    from .settings import allowed_queues, health_max_queues

    if isinstance(queues, str):
        raise TypeError("queues must be a sequence of names, not a str")
    limit = health_max_queues() if cap is None else cap
    pipe = connection.pipeline(transaction=False)
    pipe.scard(QUEUES_KEY)
    if queues is not None:
        names = list(dict.fromkeys(queues))
        return QueueSelection(tuple(names), int(pipe.execute()[0]), False, "requested")
    allowed = allowed_queues()
    if allowed is not None:
        total = int(pipe.execute()[0])
        return QueueSelection(
            tuple(sorted(allowed[:limit])), total, len(allowed) > limit, "allow-list"
        )
    pipe.sscan(QUEUES_KEY, 0, count=2 * limit)
    total_reply, (_, members) = pipe.execute()
    total = int(total_reply)
    found = set()
    for member in members:
        text = _text(member) or ""
        if text.startswith(QUEUE_PREFIX):
            found.add(text[len(QUEUE_PREFIX) :])
    names = sorted(found)[:limit]
    return QueueSelection(tuple(names), total, total > len(names), "rq:queues")


def queue_counts(
    connection: Any, names: Sequence[str], now: float, overdue: float
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """``({queue: {queued, started, ...}}, {queue: overdue scheduled jobs})`` in ONE pipeline.

    Per queue: ``LLEN rq:queue:<q>``, ``ZCARD`` of the six RQ registries (``rq:wip:<q>``,
    ``rq:finished:<q>``, ``rq:failed:<q>``, ``rq:deferred:<q>``, ``rq:scheduled:<q>``,
    ``rq:canceled:<q>``) and ``ZCOUNT rq:scheduled:<q> -inf <now - overdue>`` (scheduled jobs
    due more than ``overdue`` seconds ago: nothing moved them to the queue). Reads only,
    O(1) or O(log n) each; the counts equal RQ's ``registry.count`` after RQ's own cleanup.
    """
    templates = _registry_templates()
    scheduled_template = templates[4]
    cutoff = now - overdue
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.llen(QUEUE_PREFIX + name)
        for template in templates:
            pipe.zcard(template.format(name))
        pipe.zcount(scheduled_template.format(name), "-inf", f"({cutoff!r}")
    replies = pipe.execute() if names else []
    width = len(STATUSES) + 1
    counts: dict[str, dict[str, int]] = {}
    late: dict[str, int] = {}
    for index, name in enumerate(names):
        row = [int(value) for value in replies[index * width : (index + 1) * width]]
        counts[name] = dict(zip(STATUSES, row))
        late[name] = row[-1]
    return counts, late


# -- the report -----------------------------------------------------------------------------


def show_details(details: Optional[bool] = None, token: Optional[str] = None) -> bool:
    """Whether a health body may name queues, hosts and pids.

    ``details`` given: that (the caller decided, e.g. a local command). Otherwise
    ``RQJOBS_HEALTH_DETAILS=0`` hides them from everyone; with ``RQJOBS_HEALTH_TOKEN`` set they
    are shown only when ``token`` equals it (``hmac.compare_digest``); neither set: shown.
    """
    from .settings import health_details, health_token

    if details is not None:
        return bool(details)
    if not health_details():
        return False
    expected = health_token()
    if expected is None:
        return True
    if not token:
        return False
    return hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))


def _overdue_warning(late: dict[str, int], overdue: float, details: bool) -> Optional[str]:
    total = sum(late.values())
    if not total:
        return None
    where = ""
    if details:
        where = " (" + ", ".join(f"{q}: {n}" for q, n in sorted(late.items()) if n) + ")"
    jobs = "1 scheduled job is" if total == 1 else f"{total} scheduled jobs are"
    return (
        f"{jobs} overdue by more than {overdue:g}s{where}: nothing moves due jobs from "
        "rq:scheduled:<queue> to their queue; run a worker with --with-scheduler (RQ's scheduler)"
    )


def health_report(
    queues: Optional[Sequence[str]] = None,
    *,
    require_scheduler: bool = True,
    details: Optional[bool] = None,
    token: Optional[str] = None,
) -> Tuple[int, dict[str, Any]]:
    """``(status_code, body)`` for a health endpoint; mount it in any framework.

    * 503 ``{"status": "unhealthy", "error": ...}`` when Redis cannot be reached (in about a
      second), refuses the write probe (read-only replica ``READONLY``, ACL ``NOPERM``, ``OOM``,
      ``MISCONF``: nothing could be enqueued), or, with ``require_scheduler`` (the default),
      no scheduler has ticked for more than two ticks. The error is one line: cause and fix.
    * 200 ``{"status": "degraded", "warnings": [...], ...}`` when jobs can be enqueued but
      something will lose or repeat them: an eviction policy other than ``noeviction``
      (see :mod:`rqjobs.server_checks`), or scheduled jobs overdue by more than
      ``RQJOBS_SCHEDULED_OVERDUE`` seconds.
    * 200 ``{"status": "healthy", "warnings": [], ...}`` otherwise.

    The body also has ``queue_summary`` (``total`` in ``rq:queues``, ``listed``, ``truncated``,
    ``source``), ``totals`` (the counts summed over the listed queues, plus
    ``scheduled_overdue``), ``scheduler`` and ``details``. With details (see
    :func:`show_details`; ``details``/``token`` are passed to it) it also has ``queues``
    (``{name: {queued, started, finished, failed, deferred, scheduled, canceled}}``),
    ``scheduled_overdue`` (``{name: n}`` for queues with overdue jobs) and the scheduler's
    ``holder`` (host:pid); without, no queue name, host or pid appears anywhere in it.
    Which queues are listed: see :func:`select_queues`. Cost: see the module docstring.
    """
    from .server_checks import server_warnings
    from .settings import scheduled_overdue

    try:
        shown = show_details(details, token)
        overdue = scheduled_overdue()
        conn = health_connection()
        write_probe(conn)
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", never a 500
        failed: dict[str, Any] = {"status": "unhealthy", "error": describe_failure(exc)}
        try:
            failed_shown = show_details(details, token)
        except Exception:  # noqa: BLE001 - a bad setting: hide the hosts
            failed_shown = False
        _add_sentinel_report(failed, None, failed_shown)
        return 503, failed
    try:
        now = time.time()
        scheduler = get_scheduler_health(conn, now=now)
        warnings = [item.message for item in server_warnings(conn)]
        selection = select_queues(conn, queues)
        counts, late = queue_counts(conn, selection.names, now, overdue)
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", never a 500
        text = describe_failure(exc).replace("refused the write probe", "refused a read")
        return 503, {"status": "unhealthy", "error": text}
    late_warning = _overdue_warning(late, overdue, shown)
    if late_warning:
        warnings.append(late_warning)
    totals = {status: sum(row[status] for row in counts.values()) for status in STATUSES}
    totals["scheduled_overdue"] = sum(late.values())
    if not shown:
        scheduler = {key: value for key, value in scheduler.items() if key != "holder"}
    body: dict[str, Any] = {
        "status": "degraded" if warnings else "healthy",
        "warnings": warnings,
        "queue_summary": selection.summary(),
        "totals": totals,
        "scheduler": scheduler,
        "details": shown,
    }
    if shown:
        body["queues"] = counts
        body["scheduled_overdue"] = {name: n for name, n in sorted(late.items()) if n}
    _add_sentinel_report(body, conn, shown)
    if body.get("sentinel", {}).get("warning"):
        warnings.append(body["sentinel"].pop("warning"))
        if body["status"] == "healthy":
            body["status"] = "degraded"
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


# -- Sentinel -------------------------------------------------------------------------------


def sentinel_health(conn: Any = None, shown: bool = True) -> Optional[dict[str, Any]]:
    """The ``sentinel`` part of a health body, or ``None`` when ``REDIS_URL`` is no Sentinel URL.

    Asks each sentinel ``SENTINEL GET-MASTER-ADDR-BY-NAME <service>`` once
    (``RQJOBS_HEALTH_TIMEOUT`` to connect and to read, no retries): ``service``, ``master``
    (``host:port`` the sentinels agree on, else ``None``), ``connected_to`` (the master this
    client last discovered), ``reachable``/``configured`` sentinels, ``agree``, and per
    sentinel ``{address, reachable, master}``. Without details (see :func:`show_details`)
    only the counts and ``agree`` are kept (no host appears). ``warning`` is set when a
    sentinel is unreachable (fewer may leave no quorum for the next failover) or when the
    sentinels disagree on the master.
    """
    from .sentinel import sentinel_report

    try:
        client = conn if conn is not None else health_connection()
    except Exception:  # noqa: BLE001 - a bad URL was reported already
        return None
    report = sentinel_report(client, settings.health_timeout())
    if report is None:
        return None
    pool = getattr(client, "connection_pool", None)
    address = getattr(pool, "master_address", None)
    report["connected_to"] = f"{address[0]}:{address[1]}" if address else None
    warning = None
    if report["reachable"] < report["configured"]:
        warning = (
            f"only {report['reachable']} of {report['configured']} sentinels answer: a "
            "failover needs a majority of them (quorum); check the unreachable ones"
        )
    elif not report["agree"]:
        warning = "the sentinels disagree on the master (a failover in progress, or a split)"
    if not shown:
        report = {key: report[key] for key in ("service", "reachable", "configured", "agree")}
    if warning:
        report["warning"] = warning
    return report


def _add_sentinel_report(body: dict[str, Any], conn: Any, shown: bool) -> None:
    try:
        report = sentinel_health(conn, shown=shown)
    except Exception:  # noqa: BLE001 - the report is an extra; health must answer
        return
    if report is not None:
        body["sentinel"] = report
