"""Replica-acknowledged enqueues: after the enqueue script, wait until N replicas hold it.

Redis replicates asynchronously: an enqueue that the primary applied and answered can be
lost when the primary dies before a replica received it (measured with Sentinel and 1 s
of replication lag at the kill: ~300 acknowledged events lost per failover). With
``RQJOBS_MIN_REPLICAS=N`` (or ``with require_replicas(N):`` around a call),
:func:`rqjobs.enqueue` and :func:`rqjobs.enqueue_with_dedupe` send, right after their
script and on ONE connection (a pipeline)::

    EXISTS rq:job:<id>; HGET rq:job:<id> rqjobs_token; GET job_lock:<key>
    SET rqjobs:replication:mark:<host>:<pid> <token> PX 60000
    WAIT N RQJOBS_REPLICA_TIMEOUT_MS

and return only when ``WAIT`` says N replicas acknowledged. Why this shape:

* ``WAIT`` counts the replicas that hold the *connection's* last write. The pool may hand
  the script and ``WAIT`` different connections (threads), so the pipeline writes a marker
  first on its own connection: the replication stream is ordered, so a replica that holds
  the marker holds the script's earlier write too.
* The reads prove that the server answering ``WAIT`` has the call's write (the job's token,
  or the lock): after a failover between the script and ``WAIT``, a new primary that never
  got the write must not confirm it.
* For a duplicate (``enqueue_with_dedupe`` returned ``None``) the same wait proves that the
  write which holds the event (another call's) is on the replicas: a 2xx answered for a
  duplicate is as durable as one answered for an accept.

When fewer than N replicas acknowledged in time, or the check fails, or the link fails
after the script, :class:`rqjobs.errors.ReplicationTimeout` (a ``RedisUnavailable``: answer
5xx) is raised: the write may or may not survive; the provider's re-send is then a
duplicate (it survived) or a new accept (it did not), never a loss.

``WAIT`` runs under the call's deadline; its timeout is cut to what the deadline leaves and
to the socket timeout minus 100 ms (the read of WAIT's reply must not time out first).
On the server,
``min-replicas-to-write N`` + ``min-replicas-max-lag`` make the primary refuse writes
(``NOREPLICAS``) while fewer than N replicas are connected and fresh; combined with this,
a primary cut off from its replicas stops accepting rather than accepting writes that
cannot be confirmed.
"""

from __future__ import annotations

import contextvars
import os
import socket
from typing import Any, Optional

from redis.exceptions import RedisError

from . import settings
from .errors import ReplicationTimeout

__all__ = [
    "MARKER_PREFIX",
    "MARKER_TTL_MS",
    "require_replicas",
    "required_replicas",
    "confirm",
]

MARKER_PREFIX = "rqjobs:replication:mark:"
MARKER_TTL_MS = 60_000
TOKEN_FIELD = "rqjobs_token"  # rqjobs.scripts.TOKEN_FIELD (not imported: no cycle)

_override: contextvars.ContextVar[Optional[tuple[int, Optional[int]]]] = contextvars.ContextVar(
    "rqjobs_min_replicas", default=None
)


class require_replicas:  # noqa: N801 - used like a function: ``with require_replicas(1):``
    """Per-call replica acknowledgement: ``with require_replicas(1, timeout_ms=200): ...``.

    Overrides ``RQJOBS_MIN_REPLICAS`` (and ``RQJOBS_REPLICA_TIMEOUT_MS`` when given) for
    the enqueues inside the block (this thread / asyncio task). ``require_replicas(0)``
    turns the wait off for the block.
    """

    def __init__(self, replicas: int, timeout_ms: Optional[int] = None) -> None:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise ValueError(f"replicas must be an int >= 0, got {replicas!r}")
        if timeout_ms is not None and (
            isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms <= 0
        ):
            raise ValueError(f"timeout_ms must be a positive int, got {timeout_ms!r}")
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self._token: Optional[contextvars.Token[Optional[tuple[int, Optional[int]]]]] = None

    def __enter__(self) -> require_replicas:
        self._token = _override.set((self.replicas, self.timeout_ms))
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _override.reset(self._token)
            self._token = None


def required_replicas() -> tuple[int, int]:
    """``(replicas, timeout_ms)`` in force here: :class:`require_replicas`, else settings."""
    override = _override.get()
    if override is not None:
        replicas, timeout_ms = override
        return replicas, timeout_ms if timeout_ms is not None else settings.replica_timeout_ms()
    replicas = settings.min_replicas()
    if replicas <= 0:
        return 0, 0
    return replicas, settings.replica_timeout_ms()


def _marker_key() -> str:
    return f"{MARKER_PREFIX}{socket.gethostname()}:{os.getpid()}"


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _wait_timeout(connection: Any, timeout_ms: int) -> int:
    from .connection import current_call_deadline

    state = current_call_deadline()
    return wait_timeout(connection, timeout_ms, state.remaining() if state is not None else None)


def wait_timeout(connection: Any, timeout_ms: int, remaining: Optional[float]) -> int:
    """``WAIT``'s timeout: ``timeout_ms`` cut to the client's socket timeout minus 100 ms and
    to ``remaining`` seconds of the call's deadline (minus 50 ms); at least 1 ms."""
    kwargs = getattr(getattr(connection, "connection_pool", None), "connection_kwargs", {}) or {}
    socket_timeout = kwargs.get("socket_timeout")
    if socket_timeout is not None:
        # WAIT's reply must come before the socket timeout: cut the wait (100 ms margin).
        timeout_ms = min(timeout_ms, max(1, int(float(socket_timeout) * 1000) - 100))
    if remaining is not None:
        left_ms = int((remaining - 0.05) * 1000)
        timeout_ms = max(1, min(timeout_ms, left_ms))
    return timeout_ms


def queue_confirmation(
    pipe: Any, replicas: int, timeout_ms: int, job_key: str, token: str, lock_key: Optional[str]
) -> None:
    """Queue the confirmation's reads, marker and ``WAIT`` on ``pipe`` (sync or asyncio)."""
    pipe.exists(job_key)
    pipe.hget(job_key, TOKEN_FIELD)
    if lock_key is not None:
        pipe.get(lock_key)
    pipe.set(_marker_key(), token, px=MARKER_TTL_MS)
    pipe.execute_command("WAIT", replicas, timeout_ms)


def link_failed(exc: BaseException, what: str, replicas: int) -> ReplicationTimeout:
    """The error for a confirmation whose replies could not be read (``raise ... from exc``)."""
    return ReplicationTimeout(
        f"{what}: the script ran but the replicas' acknowledgement could not be read "
        f"({type(exc).__name__}: {exc}); the write may or may not survive a failover: "
        "answer 5xx so the sender retries",
        required=replicas,
    )


def confirm(
    connection: Any,
    *,
    job_key: str,
    token: str,
    lock_key: Optional[str] = None,
    accepted: bool = True,
    what: str = "enqueue",
) -> Optional[int]:
    """Wait until the replicas in force (:func:`required_replicas`) hold this call's write.

    Call it right after the enqueue script, inside the call's deadline scope. ``job_key``
    and ``token`` are the job hash and the call's token; ``lock_key`` the dedupe lock;
    ``accepted`` is ``False`` for a duplicate (then any lock or job proves the event is
    held on this server). Returns the number of replicas that acknowledged, or ``None``
    when replica acknowledgement is off. Raises :class:`ReplicationTimeout`.
    """
    replicas, timeout_ms = required_replicas()
    if replicas <= 0:
        return None
    timeout_ms = _wait_timeout(connection, timeout_ms)
    try:
        pipe = connection.pipeline(transaction=False)
        queue_confirmation(pipe, replicas, timeout_ms, job_key, token, lock_key)
        replies = pipe.execute()
    except RedisError as exc:
        raise link_failed(exc, what, replicas) from exc
    return check_confirmation(
        replies,
        token=token,
        lock_key=lock_key,
        accepted=accepted,
        replicas=replicas,
        timeout_ms=timeout_ms,
        what=what,
    )


def check_confirmation(
    replies: list[Any],
    *,
    token: str,
    lock_key: Optional[str],
    accepted: bool,
    replicas: int,
    timeout_ms: int,
    what: str,
) -> int:
    """The replies of :func:`queue_confirmation`'s commands judged: the number of replicas
    that acknowledged, or :class:`ReplicationTimeout` (pure: shared with :mod:`rqjobs.aio`)."""
    exists, job_token = int(replies[0]), _text(replies[1])
    lock = _text(replies[2]) if lock_key is not None else None
    acknowledged = int(replies[-1])
    if accepted:
        here = job_token == token or lock in (token, f"done:{token}")
    else:
        here = exists > 0 or lock is not None
    if not here:
        raise ReplicationTimeout(
            f"{what}: the server that answers now does not hold the write (a failover "
            "after the script ran; it was lost with the old primary): answer 5xx so the "
            "sender retries",
            acknowledged=acknowledged,
            required=replicas,
        )
    if acknowledged < replicas:
        raise ReplicationTimeout(
            f"{what}: only {acknowledged} of {replicas} replica(s) acknowledged within "
            f"{timeout_ms} ms (RQJOBS_MIN_REPLICAS, RQJOBS_REPLICA_TIMEOUT_MS); the primary "
            "has the write but it may not survive a failover: answer 5xx so the sender "
            "retries (enqueue_with_dedupe then sees a duplicate or accepts it again)",
            acknowledged=acknowledged,
            required=replicas,
        )
    return acknowledged
