"""``rqjobs.aio``: the runtime's enqueue, dedupe, stats and health for ``async def`` code.

``await rqjobs.aio.enqueue(...)``, ``await rqjobs.aio.enqueue_with_dedupe(...)``,
``await rqjobs.aio.get_queue_stats(...)``, ``await rqjobs.aio.get_counters()`` and
``await rqjobs.aio.health_report(...)`` take the same arguments and return the same values
as the functions of the same names in :mod:`rqjobs`, and never block the event loop: the
commands go out on a ``redis.asyncio`` client (one per event loop, see
:func:`get_async_redis`), so a FastAPI/Starlette handler keeps serving other requests
while Redis is slow or paused.

What happens in Redis is exactly what the sync functions do, with the same code:

* the job hash is built by the sync module's builder (:func:`rqjobs.enqueue.make_job`:
  RQ's ``Queue.create_job`` + ``to_dict``, or the verified lean path of
  :mod:`rqjobs.fastjob`), so any ``rq worker`` / ``rqjobs worker`` runs the job;
* the same Lua scripts of :mod:`rqjobs.scripts` run with ``EVALSHA`` (``SCRIPT LOAD`` once
  after ``NOSCRIPT``), with the same KEYS/ARGV (:func:`rqjobs.enqueue.enqueue_call`,
  :func:`rqjobs.dedupe.dedupe_call`): ``HSET rq:job:<id>``, ``RPUSH rq:queue:<name>``,
  ``SADD rq:queues``, ``SET job_lock:<key> <token> EX ttl``, the ``rqjobs:counters:*``;
* the same validation (dedupe key, ttl, queue allow-list, refused options), the same
  deterministic job id (``generate_deterministic_job_id(dedupe_key)``), the same log lines;
* lost-reply safety: each call carries a random token; the client re-sends a command after
  a connection error or timeout (``RQJOBS_RETRIES``), and the script recognises its own
  token and answers "already done" instead of enqueueing twice;
* ``RQJOBS_MIN_REPLICAS``: the same ``WAIT`` confirmation (:mod:`rqjobs.replication`);
* one deadline per call: every command of one call, retries and ``NOSCRIPT`` reloads
  included, runs inside ``asyncio.wait_for(..., RQJOBS_CALL_DEADLINE)`` (10 s), the
  setting the sync deadline uses; past it the call raises
  :class:`rqjobs.errors.RedisTimedOut` (a :class:`~rqjobs.errors.RedisUnavailable`);
* errors translated by :func:`rqjobs.errors.translate_redis_error`
  (:class:`~rqjobs.errors.RedisUnavailable`, :class:`~rqjobs.errors.RedisRefused`, ...).

The returned ``rq.job.Job`` is RQ's ordinary (synchronous) job object, bound to the sync
shared client: use its attributes (``job.id``, ``job.meta``); call its methods that talk
to Redis (``job.refresh()``, ``job.get_status()``) from a thread, not in the loop.

What goes through the sync function in a worker thread (``asyncio.to_thread``, the loop
is not blocked, the sync deadline applies): ``depends_on=`` and ``rate_limit=`` (RQ's own
``Queue.enqueue`` in a WATCH/MULTI transaction), a synchronous queue (``is_async=False``),
and :func:`health_report` (its own short-timeout client, about a second at most).
``pipeline=`` is refused (a sync pipeline has no place in a coroutine). A queue may be a
name or an ``rq.Queue``; either way the write goes to ``REDIS_URL``'s server (the queue
gives its name and serializer; an ``rq.Queue`` on another server or database is refused
with ``ValueError``). ``redis+sentinel://`` URLs work as in the sync runtime: the async
client asks the sentinels for the service's master and follows a promotion on reconnect.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import weakref
from collections.abc import Coroutine, Sequence
from typing import Any, Callable, Optional, TypeVar, Union

import redis.asyncio as redis_asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.job import Job

from . import dedupe as _dedupe
from . import health as _health
from . import replication, scripts, settings
from . import stats as _stats
from .connection import (
    _call_deadline,
    _option_key,
    _scrub,
    _verify_hostname_by_default,
    on_reset,
)
from .connection import redact_url as _redact_url
from .enqueue import (
    _needs_rq_path,
    enqueue_call,
    make_job,
    new_token,
    origin_meta,
    resolve_queue,
    split_options,
)
from .enqueue import enqueue as _sync_enqueue
from .errors import ConfigurationError, DuplicateJobError, translate_redis_error
from .keys import LOCK_PREFIX
from .replies import text as _text
from .sentinel import is_sentinel_url

__all__ = [
    "enqueue",
    "enqueue_with_dedupe",
    "get_queue_stats",
    "get_counters",
    "health_report",
    "get_async_redis",
    "close_async_redis",
    "default_async_options",
]

log = logging.getLogger("rqjobs.aio")

T = TypeVar("T")
QueueRef = Union[str, Queue]

# -- one client per event loop --------------------------------------------------------------

_lock = threading.Lock()
# loop -> {(url, options): client}. Weak keys: a loop that is gone takes its clients along
# (closed loops are also purged on every lookup, since a client refers to its loop).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, Any]] = (
    weakref.WeakKeyDictionary()
)
_pid = os.getpid()


def default_async_options() -> dict[str, Any]:
    """The options of every async client, as :func:`rqjobs.connection.default_options`:
    ``socket_timeout`` (``RQJOBS_SOCKET_TIMEOUT``, 3 s), ``socket_connect_timeout``
    (``RQJOBS_SOCKET_CONNECT_TIMEOUT``, 2 s), a jittered exponential backoff of 50 ms .. 1 s
    with ``RQJOBS_RETRIES`` (3) re-sends after a connection error or timeout, and no
    health-check PING. The per-call deadline is applied around each call (not per command).
    """
    return {
        "socket_timeout": settings.socket_timeout(),
        "socket_connect_timeout": settings.socket_connect_timeout(),
        "retry": AsyncRetry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), settings.retries()),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 0,
    }


def _forget() -> None:
    """Drop every cached client without touching its sockets (after fork, on reset)."""
    global _lock, _pid
    _lock = threading.Lock()
    _clients.clear()
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
on_reset(_forget)  # rqjobs.reset_redis() forgets the async clients too (it cannot await)


def get_async_redis(**options: Any) -> redis_asyncio.Redis:
    """The running event loop's ``redis.asyncio`` client for ``REDIS_URL``, made on first use.

    Call it inside a coroutine (it needs the running loop). One client (one connection
    pool) per event loop and per set of ``options`` (``redis.asyncio.Redis.from_url``
    keywords, overriding :func:`default_async_options`): a client is never shared between
    loops, and a forked child never uses its parent's clients (the cache is emptied in the
    child, no socket of the parent is touched). Creating it does not connect.
    ``REDIS_URL`` may be a Sentinel URL (``redis+sentinel://``, see :mod:`rqjobs.sentinel`).
    Raises :class:`~rqjobs.errors.ConfigurationError` for a malformed URL.
    """
    loop = asyncio.get_running_loop()
    if os.getpid() != _pid:
        _forget()
    url = settings.redis_url()
    key = (url, _option_key(options))
    per_loop = _clients.get(loop)
    if per_loop is not None:
        client = per_loop.get(key)
        if client is not None:
            return client  # type: ignore[no-any-return]
    with _lock:
        for other in [item for item in _clients if item.is_closed()]:
            _clients.pop(other, None)
        per_loop = _clients.setdefault(loop, {})
        client = per_loop.get(key)
        if client is None:
            client = per_loop[key] = _build_client(url, options)
        return client  # type: ignore[no-any-return]


def _build_client(url: str, options: dict[str, Any]) -> redis_asyncio.Redis:
    merged = default_async_options()
    merged.update(options)
    if is_sentinel_url(url):
        client = _build_sentinel_client(url, merged)
        client.rqjobs_url = _redact_url(url)  # type: ignore[attr-defined]
        return client
    if _verify_hostname_by_default(url, merged):
        merged["ssl_check_hostname"] = True  # as the sync client: check the certificate's host
    try:
        client = redis_asyncio.Redis.from_url(url, **merged)
    except ValueError as exc:
        raise ConfigurationError(
            f"REDIS_URL {_redact_url(url)!r} is not a valid Redis URL "
            "(expected redis://, rediss:// or unix://)"
        ) from _scrub(exc, url)
    client.rqjobs_url = _redact_url(url)  # type: ignore[attr-defined]
    return client


def _build_sentinel_client(url: str, options: dict[str, Any]) -> redis_asyncio.Redis:
    """``redis+sentinel://``: an async client on the service's current master, as the sync
    :func:`rqjobs.sentinel.build_sentinel_client` builds it (the same URL parsing, options
    and sentinel timeouts; no retries on the sentinels): the pool asks the sentinels for
    the master on every new connection, so a promotion is followed on reconnect."""
    from redis.asyncio.sentinel import Sentinel as AsyncSentinel
    from redis.backoff import NoBackoff

    from .sentinel import _sentinel_kwargs, master_options, parse_sentinel_url

    config = parse_sentinel_url(url)  # ConfigurationError for a bad URL (password redacted)
    data = master_options(config, options)
    sentinel_kwargs = _sentinel_kwargs(config, data)
    sentinel_kwargs["retry"] = AsyncRetry(NoBackoff(), 0)
    manager = AsyncSentinel(
        config.sentinels,
        min_other_sentinels=config.min_other_sentinels,
        sentinel_kwargs=sentinel_kwargs,
    )
    client = manager.master_for(config.service_name, redis_class=redis_asyncio.Redis, **data)
    client.rqjobs_sentinel = manager  # type: ignore[attr-defined]
    return client  # type: ignore[no-any-return]


async def close_async_redis() -> None:
    """Close and forget the running loop's clients (e.g. in an app's shutdown hook)."""
    loop = asyncio.get_running_loop()
    with _lock:
        per_loop = _clients.pop(loop, None) or {}
    for client in per_loop.values():
        try:
            await client.aclose()
        except Exception:  # noqa: BLE001 - closing a broken client must not raise
            pass


# -- one deadline per call ------------------------------------------------------------------


def _url_of(client: Any) -> Optional[str]:
    return getattr(client, "rqjobs_url", None)


async def _within_deadline(
    call: Callable[[float], Coroutine[Any, Any, T]], client: Any, what: str
) -> T:
    """``await call(deadline_at)`` under ONE deadline, ``RQJOBS_CALL_DEADLINE`` (10 s).

    ``deadline_at`` is the loop-clock time of the deadline (for ``WAIT``'s timeout). Past
    it the call is cancelled (redis-py drops a connection whose reply was not read) and
    :class:`~rqjobs.errors.RedisTimedOut` is raised; redis-py errors are translated.
    """
    seconds = _call_deadline()
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(call(loop.time() + seconds), seconds)
    except asyncio.TimeoutError as exc:
        timeout = RedisTimeoutError(
            f"rqjobs call deadline of {seconds:g}s passed during {what} (RQJOBS_CALL_DEADLINE)"
        )
        raise translate_redis_error(timeout, _url_of(client)) from exc
    except RedisError as exc:
        translated = translate_redis_error(exc, _url_of(client))
        if translated is exc:
            raise
        raise translated from exc


async def run_script(source: str, client: Any, keys: list[Any], args: list[Any]) -> Any:
    """``EVALSHA`` of ``source`` on the async ``client``, loading it once after ``NOSCRIPT``
    (as :func:`rqjobs.scripts.run`); ``args`` as the sync call builds them."""
    sha = scripts.script_sha(source)
    command = scripts.plain_args([*keys, *args])
    try:
        return await client.evalsha(sha, len(keys), *command)
    except NoScriptError:
        await client.script_load(source)
        return await client.evalsha(sha, len(keys), *command)


async def _confirm(
    client: Any,
    deadline_at: float,
    *,
    job_key: str,
    token: str,
    lock_key: Optional[str] = None,
    accepted: bool = True,
    what: str,
) -> Optional[int]:
    """:func:`rqjobs.replication.confirm` on the async client: ``EXISTS``/``HGET``/``GET``,
    the marker ``SET`` and ``WAIT`` in one pipeline, when ``RQJOBS_MIN_REPLICAS`` asks."""
    replicas, timeout_ms = replication.required_replicas()
    if replicas <= 0:
        return None
    remaining = deadline_at - asyncio.get_running_loop().time()
    timeout_ms = replication.wait_timeout(client, timeout_ms, remaining)
    try:
        pipe = client.pipeline(transaction=False)
        replication.queue_confirmation(pipe, replicas, timeout_ms, job_key, token, lock_key)
        replies = await pipe.execute()
    except RedisError as exc:
        raise replication.link_failed(exc, what, replicas) from exc
    return replication.check_confirmation(
        replies,
        token=token,
        lock_key=lock_key,
        accepted=accepted,
        replicas=replicas,
        timeout_ms=timeout_ms,
        what=what,
    )


# -- enqueue ----------------------------------------------------------------------------------


_SERVER_FIELDS = ("host", "port", "db", "path", "username")


def _server_of(client: Any) -> tuple[Any, ...]:
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None) or {}
    values = [kwargs.get(name) for name in _SERVER_FIELDS]
    values[2] = int(values[2] or 0)  # db
    return tuple(values)


def _check_server(queue: QueueRef, rq_queue: Queue, client: Any) -> None:
    """An ``rq.Queue`` given by the caller must live on ``REDIS_URL``'s server (the async
    client writes there); a queue name always does."""
    if isinstance(queue, str):
        return
    if _server_of(rq_queue.connection) != _server_of(client):
        raise ValueError(
            f"rqjobs.aio writes to REDIS_URL ({_url_of(client)}), but queue {rq_queue.name!r} "
            "is on another server or database: pass the queue's name, or point REDIS_URL at "
            "the queue's server"
        )


def _refuse_pipeline(options: dict[str, Any], name: str) -> None:
    if options.get("pipeline") is not None:
        raise ValueError(f"rqjobs.aio.{name}() does not take pipeline= (a sync redis pipeline)")


async def enqueue(
    queue: QueueRef, func: Callable[..., Any] | str, *args: Any, **kwargs: Any
) -> Job:
    """Enqueue ``func(*args, **kwargs)`` on ``queue``; the job. As :func:`rqjobs.enqueue`.

    In Redis, one ``EVALSHA`` of :data:`rqjobs.scripts.ENQUEUE`: ``HSET rq:job:<id>`` (RQ's
    fields, built by the sync builder), ``EXPIRE`` with ``ttl``, ``RPUSH rq:queue:<name>``
    (``LPUSH`` with ``at_front``), ``SADD rq:queues``, ``HINCRBY rqjobs:counters:enqueued``.
    A re-send after a lost reply changes nothing (the call's token). One deadline
    (``RQJOBS_CALL_DEADLINE``) for the whole call.

    Raises ``ValueError`` for an unknown queue or bad options (``pipeline=`` included),
    ``DuplicateJobError`` with ``unique=True`` when the id exists,
    :class:`~rqjobs.errors.RedisUnavailable` (:class:`~rqjobs.errors.RedisTimedOut` past
    the deadline) and :class:`~rqjobs.errors.RedisRefused` as the sync call does.
    ``depends_on``/``rate_limit``/a synchronous queue: the sync call in a thread.
    """
    rq_queue = resolve_queue(queue)
    call_args, func_kwargs, options = split_options(args, kwargs)
    _refuse_pipeline(options, "enqueue")
    if _needs_rq_path(rq_queue, options):
        return await asyncio.to_thread(
            functools.partial(_sync_enqueue, rq_queue, func, *args, **kwargs)
        )
    options["meta"] = origin_meta(options.get("meta"))
    token = new_token()
    job, fields = make_job(
        rq_queue, func, call_args, func_kwargs, options, token, fresh=options.get("job_id") is None
    )
    keys, argv = enqueue_call(rq_queue, job, token, fields, options)
    client = get_async_redis()
    _check_server(queue, rq_queue, client)

    async def call(deadline_at: float) -> Any:
        result = await run_script(scripts.ENQUEUE, client, keys, argv)
        await _confirm(
            client,
            deadline_at,
            job_key=job.key,
            token=token,
            accepted=result != scripts.DUPLICATE_LOCK,
            what=f"enqueue of job {job.id}",
        )
        return result

    result = await _within_deadline(call, client, "enqueue")
    if result == scripts.DUPLICATE_LOCK:
        raise DuplicateJobError(f"Job with ID '{job.id}' already exists")
    log.debug("Enqueued job %s on %s", job.id, rq_queue.name)
    return job


async def enqueue_with_dedupe(
    queue: QueueRef,
    func: Callable[..., Any] | str,
    *args: Any,
    dedupe_key: str,
    ttl: int = _dedupe.DEFAULT_TTL,
    release_on_failure: bool = True,
    job_ttl: int | None = None,
    **kwargs: Any,
) -> Job | None:
    """Enqueue ``func(*args, **kwargs)`` once per ``dedupe_key``; ``None`` for a duplicate.

    Same arguments, validation, job id (``generate_deterministic_job_id(dedupe_key)``),
    keys and answers as :func:`rqjobs.enqueue_with_dedupe`, so sync and async producers
    dedupe against each other. In Redis, one ``EVALSHA`` of
    :data:`rqjobs.scripts.DEDUPE_ENQUEUE` decides atomically: the event is still held (the
    lock ``job_lock:<key>`` and its job in flight or finished in the window): count a hit
    in ``rqjobs:counters:dedupe_hits`` and return ``None``; else write the job hash, push
    its id, ``SET job_lock:<key> <token> EX ttl`` and count the enqueue. A key this process
    saw lately is probed first (no payload sent). A re-send after a lost reply finds the
    call's token and returns the job. One deadline (``RQJOBS_CALL_DEADLINE``) per call.

    Raises ``ValueError`` (:class:`~rqjobs.errors.InvalidDedupeKeyError` for a bad key,
    nothing sent), :class:`~rqjobs.errors.RedisUnavailable` when Redis cannot be reached
    within the deadline: answer 5xx so the provider retries. ``depends_on``: the sync call
    in a thread (RQ's dependency logic in a WATCH/MULTI transaction).
    """
    dedupe_key = _dedupe.normalize_dedupe_key(dedupe_key)  # the key's errors come first
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl (the dedupe window in seconds) must be a positive int, got {ttl!r}")
    rq_queue = resolve_queue(queue)
    original = dict(kwargs)
    kwargs.update(
        dedupe_key=dedupe_key, ttl=ttl, release_on_failure=release_on_failure, job_ttl=job_ttl
    )
    prepared = _dedupe.prepare_dedupe(rq_queue, func, args, kwargs)
    options = prepared.options
    if options.get("depends_on"):
        return await asyncio.to_thread(
            functools.partial(
                _dedupe.enqueue_with_dedupe,
                rq_queue,
                func,
                *args,
                dedupe_key=dedupe_key,
                ttl=ttl,
                release_on_failure=release_on_failure,
                job_ttl=job_ttl,
                **original,
            )
        )
    key, token, job_id = prepared.key, prepared.token, prepared.job_id
    grace = settings.orphan_grace()
    client = get_async_redis()
    _check_server(queue, rq_queue, client)

    async def decide(deadline_at: float) -> Job | None:
        if _dedupe._hinted(key):
            keys, argv = _dedupe.dedupe_call(
                rq_queue, key, ttl, token, job_id, scripts.NO_FIELDS, options, None, grace
            )
            code, state = _dedupe._reply(
                await run_script(scripts.DEDUPE_ENQUEUE, client, keys, argv)
            )
            if code in (scripts.DUPLICATE_LOCK, scripts.DUPLICATE_IN_FLIGHT):
                _dedupe._skipped(rq_queue, key, job_id, state)
                await _confirm(
                    client,
                    deadline_at,
                    job_key=Job.key_for(job_id),
                    token=token,
                    lock_key=LOCK_PREFIX + key,
                    accepted=False,
                    what=f"enqueue_with_dedupe of {key!r}",
                )
                return None
        job, fields = prepared.build(rq_queue)
        keys, argv = _dedupe.dedupe_call(
            rq_queue, key, ttl, token, job_id, fields, options, job.ttl, grace
        )
        code, state = _dedupe._reply(await run_script(scripts.DEDUPE_ENQUEUE, client, keys, argv))
        _dedupe._remember(key, ttl)
        outcome = _dedupe._outcome(rq_queue, key, job, code, state)
        await _confirm(
            client,
            deadline_at,
            job_key=Job.key_for(job_id),
            token=token,
            lock_key=LOCK_PREFIX + key,
            accepted=outcome is not None,
            what=f"enqueue_with_dedupe of {key!r}",
        )
        return outcome

    return await _within_deadline(decide, client, "enqueue_with_dedupe")


# -- stats and health -----------------------------------------------------------------------


async def get_queue_stats(
    queues: Sequence[str] | None = None, connection: Any = None
) -> dict[str, dict[str, int]]:
    """``{queue: {queued, started, finished, failed, deferred, scheduled, canceled}}``, as
    :func:`rqjobs.get_queue_stats`.

    In Redis, reads only: ``SMEMBERS rq:queues`` (``queues=None``: every known queue plus
    the ``RQJOBS_QUEUES`` allow-list), then one non-transactional pipeline of ``LLEN
    rq:queue:<name>`` and ``ZCARD`` of RQ's six registries per queue, under one deadline.
    ``connection``: an async client (default :func:`get_async_redis`).
    """
    if isinstance(queues, str):
        raise TypeError("queues must be a sequence of names, not a str")
    client = connection if connection is not None else get_async_redis()

    async def read(_deadline_at: float) -> dict[str, dict[str, int]]:
        if queues is None:
            names = _stats.queue_names_from(await client.smembers(Queue.redis_queues_keys))
        else:
            names = list(queues)
        pipe = client.pipeline(transaction=False)
        for name in names:
            queue_key, registry_keys = _stats.stats_keys(name)
            pipe.llen(queue_key)
            for registry_key in registry_keys:
                pipe.zcard(registry_key)
        counts = await pipe.execute() if names else []
        return _stats.stats_from_counts(names, counts)

    return await _within_deadline(read, client, "get_queue_stats")


async def get_counters(connection: Any = None) -> dict[str, dict[str, int]]:
    """``{"enqueued": {queue: n}, "dedupe_hits": {queue: n}}``, as :func:`rqjobs.get_counters`:
    one pipeline of ``HGETALL rqjobs:counters:enqueued`` and ``.. :dedupe_hits``."""
    client = connection if connection is not None else get_async_redis()

    async def read(_deadline_at: float) -> dict[str, dict[str, int]]:
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(scripts.COUNTERS_ENQUEUED)
        pipe.hgetall(scripts.COUNTERS_DEDUPE_HITS)
        enqueued, hits = await pipe.execute()
        return {
            "enqueued": {_text(k): int(v) for k, v in enqueued.items()},
            "dedupe_hits": {_text(k): int(v) for k, v in hits.items()},
        }

    return await _within_deadline(read, client, "get_counters")


async def health_report(
    queues: Optional[Sequence[str]] = None,
    *,
    require_scheduler: bool = True,
    details: Optional[bool] = None,
    token: Optional[str] = None,
) -> tuple[int, dict[str, Any]]:
    """``(status_code, body)``: :func:`rqjobs.health_report` in a worker thread.

    The same checks (write probe script, scheduler, server settings, queue counts) on the
    health checks' own short-timeout client (``RQJOBS_HEALTH_TIMEOUT``, no retries), so
    with Redis down the answer (503) comes back in about a second; the loop is free
    meanwhile. Never raises for Redis trouble.
    """
    return await asyncio.to_thread(
        functools.partial(
            _health.health_report,
            queues,
            require_scheduler=require_scheduler,
            details=details,
            token=token,
        )
    )
