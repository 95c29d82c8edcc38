"""One Redis client per process and per set of options, with one deadline per call.

:func:`get_redis` builds a client from ``REDIS_URL`` the first time it is asked for and
returns the same object afterwards (thread-safe). Different keyword options, for example
``decode_responses=True`` for a cache, get their own cached client, so a legacy call site
keeps its behaviour when it moves to the wrapper.

Timeouts and the retry policy are explicit (see :mod:`rqjobs.settings`), not redis-py's
defaults (10 silent re-sends). Re-sends are safe for what ``rqjobs`` writes itself: its
enqueue scripts recognise a command they already applied (see :mod:`rqjobs.scripts`).

One deadline per call
---------------------
redis-py nests its retry loops (the connect/handshake loop, the socket-connect loop and
the health-check PING each retry on their own, inside or before the command's loop), so
``N`` retries can mean ``(N + 1) ** 2`` attempts: with 5 s timeouts and 3 retries one
``PING`` to a server that accepts TCP and never answers blocked about 82 s. Here every
client's ``retry`` is a :class:`DeadlineRetry`: all the retry loops of one command, or of
one whole runtime call inside :func:`call_deadline_scope`, share ONE deadline and ONE
retry budget, and a retry is started only when it can end in time::

    elapsed + backoff + (socket_connect_timeout + socket_timeout) <= deadline

otherwise the last error is raised. The deadline is ``RQJOBS_CALL_DEADLINE`` (10 s) per
command, or per call where ``rqjobs`` opens a scope (``enqueue``, ``get_queue_stats``,
...). One attempt costs at most ``socket_connect_timeout + socket_timeout`` (2 s + 3 s by
default), so a call blocks at most ``max(deadline, connect + socket timeout)``: 10 s with
the defaults, inside gunicorn's 30 s worker timeout. A client built with
``socket_timeout=None`` (blocking commands) opts out: a read may then block for ever.

Fork safety
-----------
After ``fork()`` (RQ's work horse forks; so do gunicorn and multiprocessing) the child
never uses the parent's sockets and never waits on a lock that a parent thread held at
the moment of the fork: an ``os.register_at_fork`` hook runs in the child, before any
other code of the child, and for every client this module ever created (the caller may
still hold it) gives its connection pool fresh locks and an empty state without
acquiring any lock. The child's first command then opens its own connection. The
cache of :func:`get_redis` is emptied in the child as well, so ``get_redis()`` there
returns a new client; a client held from before the fork keeps working too. Clients
built by the caller with ``redis.Redis(...)`` are not covered: build them after the fork,
or use :func:`get_redis`.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
import weakref
from typing import Any, Callable, Optional, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.client import Pipeline
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from . import settings
from .errors import ConfigurationError, translate_redis_error
from .sentinel import build_sentinel_client, is_sentinel_url

__all__ = [
    "get_redis",
    "reset_redis",
    "redact_url",
    "default_options",
    "call_deadline_scope",
    "CallDeadline",
    "DeadlineRetry",
    "DeadlineRedis",
    "DeadlinePipeline",
]

_lock = threading.Lock()
_clients: dict[Any, redis.Redis] = {}
_pid = os.getpid()
_reset_hooks: list[Any] = []
# Every client get_redis() ever built, so that a forked child can fix the ones the caller
# still holds (see _after_fork_in_child).
_created: weakref.WeakSet[redis.Redis] = weakref.WeakSet()

REDACTED = "***"


def is_secret_option(name: str) -> bool:
    """``password`` and any ``*_password`` option (``ssl_password``, the key's passphrase)."""
    lowered = name.lower()
    return lowered == "password" or lowered.endswith("_password")


def url_secrets(url: str) -> list[str]:
    """The secret values in ``url``: the userinfo password and every secret query option."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
        if parts.username and not parts.password and parts.scheme.startswith("redis"):
            found.append(parts.username)  # redis://secret@host: a password-only URL
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return []
    found += [value for key, value in pairs if is_secret_option(key) and value]
    return found


def redact_url(url: str) -> str:
    """``url`` with any password (userinfo, ``?password=``, ``?ssl_password=``) replaced by
    ``***``.

    Use it for every log line, exception message and health report that shows a URL.
    An unparseable URL is returned as ``"<unparseable Redis URL>"``.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostinfo = netloc.rpartition("@")
            if ":" in userinfo:
                user = userinfo.split(":", 1)[0]
                userinfo = f"{user}:{REDACTED}"
            elif userinfo and parts.scheme.startswith("redis"):
                # redis://secret@host is a password-only URL for redis-py.
                userinfo = REDACTED
            netloc = f"{userinfo}@{hostinfo}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_secret_option(key) for key, _ in pairs):
                query = urlencode(
                    [(key, REDACTED if is_secret_option(key) else value) for key, value in pairs],
                    safe="*",
                )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable Redis URL>"


# -- one deadline per call ----------------------------------------------------------------


class CallDeadline:
    """The deadline shared by the commands of one call (see :func:`call_deadline_scope`).

    ``at`` is a ``time.monotonic()`` value. ``attempts`` and ``failures`` count the
    attempts started and the connection errors/timeouts seen under this deadline, by every
    retry loop of every command in the scope (the retry budget is shared, not per loop).
    """

    __slots__ = ("seconds", "at", "attempts", "failures", "depth")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.attempts = 0
        self.failures = 0
        self.depth = 0  # attempts running right now (redis-py nests retry loops)

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self.at - time.monotonic()


_current: contextvars.ContextVar[Optional[CallDeadline]] = contextvars.ContextVar(
    "rqjobs_call_deadline", default=None
)


class call_deadline_scope:  # noqa: N801 - used like a function: ``with call_deadline_scope():``
    """Make every Redis command run inside the ``with`` block share ONE deadline.

    ``seconds`` defaults to ``RQJOBS_CALL_DEADLINE`` (10 s). Use it around a unit of work
    that sends several commands (``EVALSHA``, then ``SCRIPT LOAD`` + ``EVALSHA`` after
    ``NOSCRIPT``; a ``WATCH``/``MULTI``/``EXEC`` loop), so the unit blocks at most
    ``max(seconds, socket_connect_timeout + socket_timeout)`` in all, retries included:

    * a retry (and a command after the first one of the scope) is started only if
      ``elapsed + backoff + (socket_connect_timeout + socket_timeout) <= deadline``;
      otherwise the last error is raised (redis-py's ``TimeoutError`` for a command that
      was not started), which ``rqjobs`` turns into :class:`rqjobs.errors.RedisUnavailable`;
    * a command that would start after the deadline raises redis-py's ``TimeoutError``
      at once, without touching the socket;
    * the retry budget ``RQJOBS_RETRIES`` is shared by all the commands of the scope.

    A nested scope keeps the outer (earlier) deadline and budget. The scope is per thread
    and per asyncio task (a ``contextvars.ContextVar``). It only governs clients whose
    ``retry`` is a :class:`DeadlineRetry` (every :func:`get_redis` client unless the
    caller passed another ``retry=``). Without a scope each command gets its own
    ``RQJOBS_CALL_DEADLINE``. Nothing is sent to Redis by the scope itself.
    """

    __slots__ = ("_seconds", "_token", "_state")

    def __init__(self, seconds: float | None = None) -> None:
        self._seconds = seconds
        self._token: contextvars.Token[Optional[CallDeadline]] | None = None
        self._state: CallDeadline | None = None

    def __enter__(self) -> CallDeadline:
        outer = _current.get()
        if outer is not None:
            return outer
        seconds = _call_deadline() if self._seconds is None else float(self._seconds)
        self._state = CallDeadline(seconds)
        self._token = _current.set(self._state)
        return self._state

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


_deadline_values: dict[Optional[str], float] = {}


def _call_deadline() -> float:
    """``settings.call_deadline()``, with the parsed value remembered per raw string.

    The environment is still read on every call (a changed value takes effect at once);
    only the parsing and validation are skipped for a value seen before.
    """
    raw = settings.raw_call_deadline()
    value = _deadline_values.get(raw)
    if value is None:
        value = settings.call_deadline()  # raises ConfigurationError for a bad value
        if len(_deadline_values) > 16:
            _deadline_values.clear()
        _deadline_values[raw] = value
    return value


def current_call_deadline() -> CallDeadline | None:
    """The deadline of the innermost :func:`call_deadline_scope` (or command), if any."""
    return _current.get()


class DeadlineRetry(Retry):
    """redis-py's ``Retry`` that never starts an attempt which could end past the deadline.

    ``connect_timeout`` and ``socket_timeout`` are the client's timeouts: one attempt
    (connect + handshake, or send + read the reply) costs at most their sum, so a retry is
    started only if ``elapsed + backoff + cost <= deadline``; else the last error is raised.
    The deadline is the current :func:`call_deadline_scope`'s; without one, each call of
    :meth:`call_with_retry` opens its own (``RQJOBS_CALL_DEADLINE``). ``retries`` is a budget
    shared by all the retry loops under one deadline (redis-py nests its loops: connect,
    socket connect, health-check PING, command), so ``retries=3`` means at most 4 attempts
    per call, not 16. ``socket_timeout=None`` leaves the read time unbounded (an opt-out
    for blocking commands): the deadline then counts only the connect timeout.
    """

    def __init__(
        self,
        backoff: Any,
        retries: int,
        *,
        connect_timeout: float | None,
        socket_timeout: float | None,
        supported_errors: tuple[type[BaseException], ...] | None = None,
    ) -> None:
        if supported_errors is None:
            super().__init__(backoff, retries)
        else:
            super().__init__(backoff, retries, supported_errors)  # type: ignore[arg-type]
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout
        self.attempt_cost = float(connect_timeout or 0) + float(socket_timeout or 0)

    def __reduce__(self) -> Any:
        # Picklable (RQ ships connection kwargs to spawned processes).
        return (
            _rebuild_retry,
            (
                self._backoff,
                self._retries,
                self.connect_timeout,
                self.socket_timeout,
                tuple(self._supported_errors),
            ),
        )

    def call_with_retry(
        self, do: Callable[[], Any], fail: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Run ``do()``; on a supported error call ``fail`` and retry while time allows.

        Accepts the signatures of redis-py 5.x to 8.x: ``(do, fail)``,
        ``(do, fail, is_retryable)`` and ``(do, fail, is_retryable, with_failure_count)``
        (positional or keyword). Raises redis-py's ``TimeoutError`` at once when the
        deadline has passed before the first attempt.
        """
        is_retryable = args[0] if args else kwargs.get("is_retryable")
        with_failure_count = bool(args[1] if len(args) > 1 else kwargs.get("with_failure_count"))
        state = _current.get()
        if state is not None:
            return self._run(state, do, fail, is_retryable, with_failure_count)
        state = CallDeadline(_call_deadline())
        token = _current.set(state)
        try:
            return self._run(state, do, fail, is_retryable, with_failure_count)
        finally:
            _current.reset(token)

    def _run(
        self,
        state: CallDeadline,
        do: Callable[[], Any],
        fail: Callable[..., Any],
        is_retryable: Callable[[BaseException], bool] | None,
        with_failure_count: bool,
    ) -> Any:
        self._backoff.reset()
        failures = 0
        backoff = 0.0
        last: BaseException | None = None
        while True:
            now = time.monotonic()
            if last is None and (state.attempts == 0 or state.depth > 0):
                # The first attempt of the call, or a loop nested in a running attempt
                # (whose cost the outer check already counted): only "not past it".
                if now >= state.at:
                    raise RedisTimeoutError(
                        f"rqjobs call deadline of {state.seconds:g}s passed before the "
                        "command could start (RQJOBS_CALL_DEADLINE)"
                    )
            elif now + backoff + self.attempt_cost > state.at:
                if last is not None:
                    raise last
                raise RedisTimeoutError(
                    f"rqjobs call deadline of {state.seconds:g}s: {max(0.0, state.at - now):.2f}s "
                    f"left, less than one attempt may take ({self.attempt_cost:g}s); "
                    "not started (RQJOBS_CALL_DEADLINE)"
                )
            if backoff > 0:
                time.sleep(backoff)
            state.attempts += 1
            state.depth += 1
            try:
                return do()
            except self._supported_errors as error:
                if is_retryable is not None and not is_retryable(error):
                    raise
                failures += 1
                state.failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                if self._retries >= 0 and state.failures > self._retries:
                    raise
                last = error
                backoff = float(self._backoff.compute(failures))
            finally:
                state.depth -= 1


def _rebuild_retry(
    backoff: Any,
    retries: int,
    connect_timeout: float | None,
    socket_timeout: float | None,
    supported_errors: tuple[type[BaseException], ...],
) -> DeadlineRetry:
    return DeadlineRetry(
        backoff,
        retries,
        connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        supported_errors=supported_errors,
    )


def _with_command_deadline(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` under the current deadline, or a new one for this command."""
    if _current.get() is not None:
        return call(*args, **kwargs)
    token = _current.set(CallDeadline(_call_deadline()))
    try:
        return call(*args, **kwargs)
    finally:
        _current.reset(token)


class DeadlineRedis(redis.Redis):
    """``redis.Redis`` whose every command (connect, retries and all) has one deadline.

    redis-py connects in ``ConnectionPool.get_connection()`` before the command's own
    retry loop runs, each loop with its own retries; this class opens one
    :class:`CallDeadline` (``RQJOBS_CALL_DEADLINE``) around the whole command, or joins the
    caller's :func:`call_deadline_scope`. Same commands, same replies; failures are raised
    as :func:`rqjobs.errors.translate_redis_error` makes them (``RedisUnavailable``,
    ``RedisRefused``, ...), each still an instance of the redis-py class raised before
    (``ConnectionError``, ``TimeoutError``, ``ReadOnlyError``, ...), so ``except`` clauses
    written for redis-py keep matching.
    """

    rqjobs_url: str | None = None  # redacted, for error messages (set by get_redis)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return _with_command_deadline(super().execute_command, *args, **options)
        except RedisError as exc:
            translated = translate_redis_error(exc, self.rqjobs_url)
            if translated is exc:
                raise
            raise translated from exc

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> DeadlinePipeline:
        pipe = DeadlinePipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.rqjobs_url = self.rqjobs_url
        return pipe


class DeadlinePipeline(Pipeline):
    """The pipeline of :class:`DeadlineRedis`: ``execute()`` and the immediate commands of
    ``WATCH`` mode each run under one deadline (or the caller's scope); errors are
    translated as by :class:`DeadlineRedis` (``WatchError`` is left alone)."""

    rqjobs_url: str | None = None

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return _with_command_deadline(super().immediate_execute_command, *args, **options)
        except RedisError as exc:
            translated = translate_redis_error(exc, self.rqjobs_url)
            if translated is exc:
                raise
            raise translated from exc

    def execute(self, raise_on_error: bool = True) -> Any:
        try:
            return _with_command_deadline(super().execute, raise_on_error)
        except RedisError as exc:
            translated = translate_redis_error(exc, self.rqjobs_url)
            if translated is exc:
                raise
            raise translated from exc


def default_options() -> dict[str, Any]:
    """The explicit connection options every client gets unless the caller overrides them.

    * ``socket_timeout`` 3 s and ``socket_connect_timeout`` 2 s (``RQJOBS_SOCKET_TIMEOUT``,
      ``RQJOBS_SOCKET_CONNECT_TIMEOUT``): one attempt costs at most 5 s, so within the
      10 s ``RQJOBS_CALL_DEADLINE`` a call gets its first attempt and, after a quick
      failure (a reset connection, a failover), a retry; 3 s is still about a thousand
      times a healthy round trip, and 2 s covers a TCP handshake with one lost SYN on
      Linux (the first SYN retransmit comes after 1 s).
    * ``retry``: a :class:`DeadlineRetry` with a jittered exponential backoff of
      50 ms .. 1 s and ``RQJOBS_RETRIES`` (3) re-sends per call, never past the deadline.
    * ``health_check_interval`` 0: no PING before reusing an idle connection. redis-py
      runs that PING inside its own retry loop, nested in the command's, which multiplied
      the attempts; without it a stale idle connection makes the command itself fail
      (a reset, or a timeout), and the bounded retry re-sends it on a fresh connection.
    """
    socket_timeout = settings.socket_timeout()
    connect_timeout = settings.socket_connect_timeout()
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "retry": _default_retry(connect_timeout, socket_timeout),
        # redis-py 5.x re-sends only the errors listed here (6+ defaults to these two).
        "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        "health_check_interval": 0,
    }


def _default_retry(connect_timeout: float | None, socket_timeout: float | None) -> DeadlineRetry:
    return DeadlineRetry(
        ExponentialWithJitterBackoff(cap=1.0, base=0.05),
        settings.retries(),
        connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
    )


def _option_key(options: dict[str, Any]) -> tuple[Any, ...]:
    items = []
    for name in sorted(options):
        value = options[name]
        try:
            hash(value)
        except TypeError:
            value = ("id", id(value))
        items.append((name, value))
    return tuple(items)


# -- fork safety ----------------------------------------------------------------------------

_LOCK_TYPE = type(threading.Lock())
_RLOCK_TYPES = tuple({type(threading.RLock()), threading._RLock})  # C and Python RLocks


def _fresh_lock(value: Any) -> Any:
    """A new, unlocked lock of the same kind as ``value``; ``None`` when it is not a lock."""
    if isinstance(value, _LOCK_TYPE):
        return threading.Lock()
    if isinstance(value, _RLOCK_TYPES):
        return threading.RLock()
    if isinstance(value, threading.Condition):
        inner = _fresh_lock(getattr(value, "_lock", None))
        return threading.Condition(inner if inner is not None else threading.RLock())
    return None


def _refresh_locks(obj: Any) -> None:
    """Replace every lock/condition attribute of ``obj`` by a fresh one (never acquiring)."""
    if obj is None:
        return
    try:
        attributes = vars(obj)
    except TypeError:
        return
    for name, value in list(attributes.items()):
        fresh = _fresh_lock(value)
        if fresh is not None:
            setattr(obj, name, fresh)


def _drop_socket(connection: Any) -> None:
    """Forget an inherited connection's socket: close the child's descriptor, send nothing.

    No ``shutdown()``: the parent still holds the same socket and keeps using it; closing
    the child's copy of the descriptor does not end the TCP connection.
    """
    sock = getattr(connection, "_sock", None)
    if sock is None:
        return
    try:
        connection._sock = None
    except AttributeError:  # pragma: no cover - an unusual connection class
        return
    try:
        sock.close()
    except OSError:
        pass


def _refresh_pool_after_fork(pool: Any, pid: int) -> None:
    """Give ``pool`` fresh locks and an empty state in a forked child, acquiring no lock.

    Mirrors what ``ConnectionPool.reset()`` does (redis-py 5.x .. 8.x), minus its
    ``with self._lock`` (8.x) that hangs when a parent thread held the lock at fork time.
    """
    if getattr(pool, "_rqjobs_fork_pid", None) == pid:
        return  # shared by several remembered clients: done already
    if hasattr(pool, "_connections") and hasattr(pool, "queue_class"):  # BlockingConnectionPool
        inherited = list(getattr(pool, "_connections", None) or ())
    else:
        inherited = list(getattr(pool, "_available_connections", None) or ())
        inherited += list(getattr(pool, "_in_use_connections", None) or ())
    for connection in inherited:
        _drop_socket(connection)
    _refresh_locks(pool)
    for name in ("_event_dispatcher", "himport_registry", "_maint_notifications_pool_handler"):
        _refresh_locks(getattr(pool, name, None))
    if hasattr(pool, "queue_class"):
        pool._locked = False
        queue = pool.queue_class(pool.max_connections)
        while not queue.full():
            queue.put_nowait(None)
        pool.pool = queue
        pool._connections = []
    else:
        pool._created_connections = 0
        pool._available_connections = []
        pool._in_use_connections = set()
    pool._rqjobs_fork_pid = pid
    pool.pid = pid  # last, as in redis-py: other code compares it without a lock


def _refresh_client_after_fork(client: Any, pid: int) -> None:
    _refresh_locks(client)  # single_connection_lock, ...
    _refresh_locks(getattr(client, "_event_dispatcher", None))
    single = getattr(client, "connection", None)
    if single is not None:  # single_connection_client: reconnects on its next command
        _drop_socket(single)
        if hasattr(single, "pid"):
            single.pid = pid
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        _refresh_pool_after_fork(pool, pid)


def _forget_after_fork() -> None:
    """In a forked child: drop the parent's clients from the cache without touching sockets."""
    global _lock, _pid
    _lock = threading.Lock()
    _clients.clear()
    _pid = os.getpid()
    for hook in list(_reset_hooks):
        hook()


def _after_fork_in_child() -> None:
    """``os.register_at_fork(after_in_child=...)``: fix every remembered client, then forget.

    Runs in the only thread of the new child, before any other code of the child. It
    takes no lock (a lock held by a parent thread at fork time stays held for ever in the
    child) and never writes on an inherited socket.
    """
    pid = os.getpid()
    for client in list(_created):
        try:
            _refresh_client_after_fork(client, pid)
        except Exception:  # noqa: BLE001 - never break the child; redis-py's check remains
            pass
    _forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def get_redis(**options: Any) -> redis.Redis:
    """The process's client for ``REDIS_URL``, created on first use.

    ``options`` are any ``redis.Redis.from_url`` keywords (``decode_responses``,
    ``socket_timeout``, ``client_name``, ``max_connections``, ``retry``, ...); they override
    :func:`default_options`. Each distinct set of options has its own cached client, a
    :class:`DeadlineRedis`. Unless ``retry=`` is given, its :class:`DeadlineRetry` uses
    the client's final timeouts (so ``get_redis(socket_timeout=1)`` budgets 1 s reads).
    ``socket_timeout=None`` opts out of the time bound (blocking commands).
    Creating the client does not connect; the first command does.

    ``REDIS_URL`` may be ``redis://``, ``rediss://``, ``unix://`` or a Sentinel URL,
    ``redis+sentinel://[:password@]host1:port1,host2:port2/service_name[/db]`` (see
    :mod:`rqjobs.sentinel`): the client then talks to the service's current master and
    follows a promotion on reconnect, under the same deadline and retries.

    Raises :class:`rqjobs.errors.ConfigurationError` (a ``ValueError``) when ``REDIS_URL``
    is malformed; the message shows the URL with its password redacted.
    """
    url = settings.redis_url()
    if os.getpid() != _pid:
        _forget_after_fork()
    key = (url, _option_key(options))
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            merged = default_options()
            merged.update(options)
            if "retry" not in options:
                merged["retry"] = _default_retry(
                    merged.get("socket_connect_timeout"), merged.get("socket_timeout")
                )
            if is_sentinel_url(url):
                # redis+sentinel://: the master of a Sentinel service, rediscovered on
                # reconnect (see rqjobs.sentinel). The URL's options may change the
                # timeouts, so the retry is made again from the final ones.
                sentinel_client, nodes = build_sentinel_client(
                    url,
                    merged,
                    DeadlineRedis,
                    rebuild_retry=None if "retry" in options else _default_retry,
                )
                built = cast(DeadlineRedis, sentinel_client)
                for node in nodes:
                    _created.add(node)  # fork safety for the sentinels' pools too
            else:
                if _verify_hostname_by_default(url, merged):
                    # redis-py < 6 does not check the certificate's host name by default.
                    merged["ssl_check_hostname"] = True
                try:
                    built = cast(DeadlineRedis, DeadlineRedis.from_url(url, **merged))
                except ValueError as exc:
                    raise ConfigurationError(
                        f"REDIS_URL {redact_url(url)!r} is not a valid Redis URL "
                        "(expected redis://, rediss://, unix:// or redis+sentinel://)"
                    ) from _scrub(exc, url)
            built.rqjobs_url = redact_url(url)
            _clients[key] = client = built
            _created.add(built)
        return client


def _verify_hostname_by_default(url: str, options: dict[str, Any]) -> bool:
    """``rediss://`` with certificate checks on and no explicit ``ssl_check_hostname``."""
    if not url.lower().startswith("rediss://") or "ssl_check_hostname" in options:
        return False
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if "ssl_check_hostname" in query:
        return False
    cert_reqs = query.get("ssl_cert_reqs", options.get("ssl_cert_reqs", "required"))
    return str(cert_reqs).lower() not in ("none", "optional")


def _scrub(exc: BaseException, url: str) -> BaseException | None:
    """The chained cause, unless its text could contain the URL (and so the password)."""
    text = str(exc)
    parsed_password = None
    try:
        parsed_password = urlsplit(url).password
    except ValueError:
        return None
    if url in text or (parsed_password and parsed_password in text):
        return None
    return exc


def reset_redis() -> None:
    """Close and forget every cached client (and the queues built on them)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a broken client must not raise
            pass
    for hook in list(_reset_hooks):
        hook()


def on_reset(hook: Any) -> None:
    """Register ``hook()`` to run on :func:`reset_redis` and in a forked child (internal use)."""
    _reset_hooks.append(hook)


def current_url_redacted() -> str:
    """``REDIS_URL`` as it is safe to show."""
    return redact_url(settings.redis_url())
