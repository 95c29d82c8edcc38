"""Exceptions raised by the ``rqjobs`` runtime.

Every error that is about configuration is also a ``ValueError`` so that call sites
which already catch ``ValueError`` for bad input keep working.
"""

from __future__ import annotations

import re

from redis import exceptions as _redis_exceptions


class RqjobsError(Exception):
    """Base class of every exception defined by ``rqjobs``."""


class ConfigurationError(RqjobsError, ValueError):
    """A setting (``REDIS_URL``, ``SERVICE_ROLE``, ``RQJOBS_QUEUES``, ...) is invalid.

    The message names the setting and the valid values. A Redis URL in it is redacted.
    """


class UnknownQueueError(ConfigurationError):
    """A queue name is not in the ``RQJOBS_QUEUES`` allow-list (message lists the allowed ones)."""


class InvalidDedupeKeyError(RqjobsError, ValueError):
    """A dedupe key is empty, blank, has an empty part (``webhook:baileys:``) or is not a string."""


class RoleViolation(RqjobsError, RuntimeError):
    """Code that needs a capability ran in a service role that does not have it."""


class RedisUnavailable(RqjobsError, _redis_exceptions.ConnectionError):
    """Redis could not be reached (after the configured retries, within the call deadline).

    A subclass of ``redis.exceptions.ConnectionError``, so existing ``except`` clauses still
    match. Its message names the redacted URL, never the password. A webhook handler should
    answer 5xx so that the provider retries the delivery.
    """


class RedisTimedOut(RedisUnavailable, _redis_exceptions.TimeoutError):
    """:class:`RedisUnavailable` for a timeout; still a ``redis.exceptions.TimeoutError``."""


class ReplicationTimeout(RedisUnavailable):
    """Fewer replicas than ``RQJOBS_MIN_REPLICAS`` acknowledged an enqueue within the timeout.

    The enqueue script HAS run on the primary: the write may or may not survive a failover
    (it survives unless the primary dies before a replica gets it). Answer 5xx so the
    provider re-sends; with ``enqueue_with_dedupe`` the re-send is then a duplicate (the
    write survived) or a new accept (it did not), never a loss. ``.acknowledged`` is the
    number of replicas that did acknowledge, ``.required`` the number asked for.
    """

    def __init__(self, message: str, *, acknowledged: int = 0, required: int = 0) -> None:
        super().__init__(message)
        self.acknowledged = acknowledged
        self.required = required


class RedisRefused(RqjobsError, _redis_exceptions.ResponseError):
    """Redis answered but refused the command: ``.cause`` is Redis's error code.

    ``cause`` is one of :data:`REFUSAL_CAUSES` (``READONLY``, ``OOM``, ``NOPERM``,
    ``MISCONF``, ``LOADING``, ``BUSY``); ``command`` the refused command when Redis named
    it (NOPERM), else ``None``. The message is one line naming the redacted URL, the cause
    and the fix, never the password. The subclasses are also the redis-py class raised for
    that reply (``ReadOnlyError``, ``OutOfMemoryError``, ``NoPermissionError``,
    ``BusyLoadingError``), so an existing ``except`` clause still matches.
    """

    def __init__(self, message: str, *, cause: str = "", command: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.command = command


class RedisReadOnly(RedisRefused, _redis_exceptions.ReadOnlyError):
    """READONLY: ``REDIS_URL`` points at a read-only replica."""


class RedisOutOfMemory(RedisRefused, _redis_exceptions.OutOfMemoryError):
    """OOM: ``maxmemory`` is reached and the eviction policy (``noeviction``) refuses writes."""


class RedisNoPermission(RedisRefused, _redis_exceptions.NoPermissionError):
    """NOPERM: the ACL user may not run the command (or touch the keys)."""


class RedisLoading(RedisRefused, RedisUnavailable, _redis_exceptions.BusyLoadingError):
    """LOADING: the server is loading its dataset. Also a :class:`RedisUnavailable` (as
    redis-py's ``BusyLoadingError`` is a ``ConnectionError``): answer 5xx and retry later."""


REFUSAL_CAUSES = ("READONLY", "OOM", "NOPERM", "MISCONF", "LOADING", "BUSY")
_CAUSE_IN_TEXT = re.compile(r"(?:^|: )(READONLY|OOM|NOPERM|MISCONF|LOADING|BUSY)\b")
_NOPERM_COMMAND = re.compile(r"'([A-Za-z|_.-]+)' command")


def refusal_cause(exc: BaseException) -> str | None:
    """The Redis error code when ``exc`` is one of the refusals, else ``None``."""
    if isinstance(exc, RedisRefused):
        return exc.cause
    if isinstance(exc, _redis_exceptions.ReadOnlyError):
        return "READONLY"
    if isinstance(exc, _redis_exceptions.OutOfMemoryError):
        return "OOM"
    if isinstance(exc, _redis_exceptions.NoPermissionError):
        return "NOPERM"
    if isinstance(exc, _redis_exceptions.BusyLoadingError):
        return "LOADING"
    if isinstance(exc, _redis_exceptions.ResponseError):
        code = getattr(exc, "status_code", None)  # redis-py >= 8 keeps the code
        if code in REFUSAL_CAUSES:
            return str(code)
        found = _CAUSE_IN_TEXT.search(str(exc))  # "MISCONF ...", "... caused error: BUSY ..."
        if found:
            return found.group(1)
    return None


def _refused(exc: BaseException, cause: str, url: str) -> RedisRefused:
    where = f"Redis at {url}"
    if cause == "READONLY":
        return RedisReadOnly(
            f"{where} refused the write: it is a read-only replica (READONLY); "
            "point REDIS_URL at the primary",
            cause=cause,
        )
    if cause == "OOM":
        return RedisOutOfMemory(
            f"{where} refused the write: it is out of memory (OOM, maxmemory reached); "
            "raise maxmemory or free memory",
            cause=cause,
        )
    if cause == "NOPERM":
        found = _NOPERM_COMMAND.search(str(exc))
        if found:
            command = found.group(1).upper()
            return RedisNoPermission(
                f"{where} refused {command}: the ACL user may not run {command} (NOPERM); "
                f"grant it, e.g. ACL SETUSER <user> +@scripting +@write +@read "
                f"(or +{command.lower()})",
                cause=cause,
                command=command,
            )
        return RedisNoPermission(
            f"{where} refused the command: the ACL user may not access these keys or "
            "commands (NOPERM); grant the keys (e.g. ~rq:* ~job_lock:* ~rqjobs:*) and "
            "+@scripting +@write +@read",
            cause=cause,
        )
    if cause == "MISCONF":
        return RedisRefused(
            f"{where} refused the write: it cannot persist to disk and stops writes "
            "(MISCONF); fix the server's RDB/AOF save error (disk full? permissions?)",
            cause=cause,
        )
    if cause == "LOADING":
        return RedisLoading(
            f"{where} refused the command: it is loading its dataset into memory "
            "(LOADING); retry when loading has finished",
            cause=cause,
        )
    return RedisRefused(
        f"{where} refused the command: it is busy running a script or function (BUSY); "
        "wait for it, or stop it with SCRIPT KILL / FUNCTION KILL",
        cause=cause,
    )


def unavailable_error(exc: BaseException, url: str | None = None) -> RedisUnavailable:
    """A :class:`RedisUnavailable` (:class:`RedisTimedOut` for a timeout) for ``exc``."""
    if url is None:
        url = _current_url()
    cls = RedisTimedOut if isinstance(exc, _redis_exceptions.TimeoutError) else RedisUnavailable
    return cls(f"Redis at {url} is unavailable: {type(exc).__name__}: {exc}")


def translate_redis_error(exc: Exception, url: str | None = None) -> Exception:
    """The ``rqjobs`` error for a redis-py exception, for ``raise translate_redis_error(e) from e``.

    * READONLY, OOM, NOPERM, MISCONF, LOADING, BUSY replies -> :class:`RedisRefused` (a
      subclass per cause where redis-py has a class), one line: cause and fix;
    * connection errors and timeouts -> :class:`RedisUnavailable` (:class:`RedisTimedOut`);
    * anything else, and ``rqjobs``'s own errors, are returned unchanged (``is exc``).

    ``url`` (already redacted) defaults to ``REDIS_URL`` with its password redacted.
    """
    if isinstance(exc, RqjobsError):
        return exc
    cause = refusal_cause(exc)
    if cause is not None:
        return _refused(exc, cause, _current_url() if url is None else url)
    if isinstance(exc, (_redis_exceptions.ConnectionError, _redis_exceptions.TimeoutError)):
        return unavailable_error(exc, url)
    return exc


def _current_url() -> str:
    from .connection import current_url_redacted  # connection imports this module

    return current_url_redacted()


try:  # RQ >= 2.7 (or so) has it; older RQ 2 releases do not.
    from rq.exceptions import DuplicateJobError
except ImportError:  # pragma: no cover - depends on the installed RQ

    class DuplicateJobError(RqjobsError):  # type: ignore[no-redef]
        """``unique=True`` and a job with that id exists (RQ's own class when it has one)."""
