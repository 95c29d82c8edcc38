"""``enqueue_with_dedupe``: one event, one job, in one atomic step.

In Redis, one Lua script (:data:`rqjobs.scripts.DEDUPE_ENQUEUE`) either

* finds ``job_lock:<dedupe_key>`` (the dedupe window, ``ttl`` seconds), or finds the job
  ``rq:job:<id>`` still queued/started/deferred/scheduled, counts a hit in
  ``rqjobs:counters:dedupe_hits`` and returns "duplicate" (the call returns ``None``); or
* writes the job hash, pushes its id, ``SADD rq:queues``, ``SET job_lock:<key> <token> EX ttl``
  and counts the enqueue, all together.

There is no moment where the lock exists without the job: a crash, a dropped connection
or a lost reply leaves either both or neither, so the provider's retry is never dropped
as a "duplicate" of an event that was never enqueued. The job id is
``generate_deterministic_job_id(dedupe_key)``; a lost reply followed by a re-send is
recognised by the call's token (the lock's value) and returns the job.

The window is independent of RQ's ``result_ttl``/``failure_ttl``, and it never expires a
queued job: pass ``job_ttl=`` to bound how long the job may wait in the queue. When the
job finally fails (no retries left), an ``on_failure`` callback deletes the lock if it
still holds this job's token, so the provider's next retry is processed
(``release_on_failure=False`` keeps the lock until its TTL).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
from typing import Any, Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from rq import Callback, Queue
from rq.job import Job

from . import scripts
from .enqueue import (
    QueueRef,
    build_job,
    job_fields,
    new_token,
    origin_meta,
    resolve_queue,
    split_options,
    text_or_none,
    unavailable,
)
from .errors import InvalidDedupeKeyError
from .job_ids import generate_deterministic_job_id

__all__ = [
    "enqueue_with_dedupe",
    "normalize_dedupe_key",
    "lock_key",
    "release_lock_on_failure",
    "LOCK_PREFIX",
    "MAX_KEY_LENGTH",
]

log = logging.getLogger("rqjobs.dedupe")

LOCK_PREFIX = "job_lock:"
MAX_KEY_LENGTH = 256
DEFAULT_TTL = 600
META_KEY = "dedupe_key"
META_USER_ON_FAILURE = "rqjobs_on_failure"
RELEASE_CALLBACK = "rqjobs.dedupe.release_lock_on_failure"
_RELEASE = Callback(RELEASE_CALLBACK)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize_dedupe_key(dedupe_key: object) -> str:
    """The key as stored, or ``InvalidDedupeKeyError`` (a ``ValueError``).

    Rejected: a non-string, an empty or blank key, leading/trailing whitespace, control
    characters, and a key with an empty ``:``-separated part (``webhook:baileys:`` means
    the message id was missing). Keys longer than :data:`MAX_KEY_LENGTH` characters become
    ``<first 64 characters>:sha256:<digest>`` so hostile input cannot bloat Redis.
    """
    if not isinstance(dedupe_key, str):
        raise InvalidDedupeKeyError(f"dedupe_key must be a str, got {type(dedupe_key).__name__}")
    if not dedupe_key.strip():
        raise InvalidDedupeKeyError("dedupe_key must not be empty or blank")
    if dedupe_key != dedupe_key.strip():
        raise InvalidDedupeKeyError(
            f"dedupe_key has leading or trailing whitespace: {dedupe_key[:80]!r}"
        )
    if _CONTROL.search(dedupe_key):
        raise InvalidDedupeKeyError(f"dedupe_key contains control characters: {dedupe_key[:80]!r}")
    parts = dedupe_key.split(":")
    if any(not part.strip() for part in parts):
        raise InvalidDedupeKeyError(
            f"dedupe_key {dedupe_key[:80]!r} has an empty part "
            "(a missing id between ':' separators?)"
        )
    if len(dedupe_key) > MAX_KEY_LENGTH:
        digest = hashlib.sha256(dedupe_key.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{dedupe_key[:64].rstrip(':')}:sha256:{digest}"
    return dedupe_key


def lock_key(dedupe_key: str) -> str:
    """``job_lock:<normalized key>``: the key that holds the dedupe window."""
    return LOCK_PREFIX + normalize_dedupe_key(dedupe_key)


def _callback_name(callback: Any) -> tuple[str, Any]:
    if isinstance(callback, Callback):
        return callback.name, callback.timeout
    return Callback(callback).name, None


def enqueue_with_dedupe(
    queue: QueueRef,
    func: Callable[..., Any] | str,
    *args: Any,
    dedupe_key: str,
    ttl: int = DEFAULT_TTL,
    release_on_failure: bool = True,
    job_ttl: int | None = None,
    **kwargs: Any,
) -> Job | None:
    """Enqueue ``func(*args, **kwargs)`` once per ``dedupe_key``; ``None`` for a duplicate.

    ``ttl`` is the dedupe window in seconds (the lock's TTL). ``job_ttl`` is RQ's ``ttl``
    (how long the job may wait in the queue); by default a queued job never expires.
    Other keywords are those of ``rq.Queue.enqueue`` (``job_timeout``, ``result_ttl``,
    ``retry``, ``meta``, ``on_failure``, ``depends_on``, ...), except ``job_id`` (the id is
    ``generate_deterministic_job_id(dedupe_key)``), ``pipeline``, ``unique`` and
    ``rate_limit``. ``job.meta["dedupe_key"]`` holds the key.

    A duplicate is logged as ``Skipped duplicate ... dedupe_key=...`` and counted in
    ``rqjobs:counters:dedupe_hits``. Raises ``ValueError`` for a bad key, ttl or queue
    name (nothing written) and :class:`rqjobs.errors.RedisUnavailable` when Redis cannot
    be reached: answer 5xx so the provider retries.
    """
    key = normalize_dedupe_key(dedupe_key)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl (the dedupe window in seconds) must be a positive int, got {ttl!r}")
    rq_queue = resolve_queue(queue)
    call_args, func_kwargs, options = split_options(args, kwargs)
    for refused in ("job_id", "pipeline", "unique", "rate_limit"):
        if options.get(refused) is not None and options.get(refused) is not False:
            raise ValueError(
                f"enqueue_with_dedupe() does not take {refused}= (the dedupe key decides the job)"
            )
    if "ttl" in options:
        raise ValueError(
            "enqueue_with_dedupe(): ttl= is the dedupe window; pass job_ttl= for RQ's job ttl"
        )
    if not rq_queue.is_async:
        raise ValueError("enqueue_with_dedupe() needs an asynchronous queue (is_async=True)")
    if job_ttl is not None:
        options["ttl"] = job_ttl
    job_id = generate_deterministic_job_id(key)
    options["job_id"] = job_id
    meta = origin_meta(options.get("meta"))
    meta[META_KEY] = key
    if release_on_failure:
        user_callback = options.get("on_failure")
        timeout = None
        if user_callback is not None:
            meta[META_USER_ON_FAILURE], timeout = _callback_name(user_callback)
        options["on_failure"] = (
            _RELEASE if timeout is None else Callback(RELEASE_CALLBACK, timeout=timeout)
        )
    options["meta"] = meta
    token = new_token()
    if options.get("depends_on"):
        job = _dedupe_with_transaction(
            rq_queue, func, call_args, func_kwargs, options, key, ttl, token
        )
    else:
        job = _dedupe_with_script(rq_queue, func, call_args, func_kwargs, options, key, ttl, token)
    return job


_registry_keys: dict[tuple[type, str], tuple[str, str, str]] = {}


def _terminal_registry_keys(queue: Queue) -> tuple[str, str, str]:
    """Keys of the queue's finished, failed and canceled registries (cached per queue name)."""
    cache_key = (type(queue), queue.name)
    keys = _registry_keys.get(cache_key)
    if keys is None:
        keys = (
            queue.finished_job_registry.key,
            queue.failed_job_registry.key,
            queue.canceled_job_registry.key,
        )
        _registry_keys[cache_key] = keys
    return keys


def _skipped(queue: Queue, key: str, job_id: str, reason: str) -> None:
    log.info("Skipped duplicate job %s on %s (%s) dedupe_key=%s", job_id, queue.name, reason, key)


def _dedupe_with_script(
    queue: Queue,
    func: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    key: str,
    ttl: int,
    token: str,
) -> Job | None:
    job = build_job(queue, func, args, kwargs, options)
    keys = [
        LOCK_PREFIX + key,
        job.key,
        queue.key,
        Queue.redis_queues_keys,
        scripts.COUNTERS_ENQUEUED,
        scripts.COUNTERS_DEDUPE_HITS,
        *_terminal_registry_keys(queue),
    ]
    argv = [
        token,
        ttl,
        "L" if options.get("at_front") else "R",
        job.ttl if job.ttl else -1,
        queue.name,
        job.id,
        job_fields(job, token, fresh=True),  # the script DELs an older run's hash first
    ]
    try:
        result = scripts.run(scripts.DEDUPE_ENQUEUE, queue.connection, keys, argv)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise unavailable(exc) from exc
    if result == scripts.DUPLICATE_LOCK:
        _skipped(queue, key, job.id, "lock held")
        return None
    if result == scripts.DUPLICATE_IN_FLIGHT:
        _skipped(queue, key, job.id, "first job still in flight")
        return None
    log.debug("Enqueued job %s on %s dedupe_key=%s", job.id, queue.name, key)
    return job


_TERMINAL = ("finished", "failed", "stopped", "canceled")


def _dedupe_with_transaction(
    queue: Queue,
    func: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    key: str,
    ttl: int,
    token: str,
) -> Job | None:
    """The WATCH/MULTI variant for ``depends_on`` (RQ's dependency logic must run).

    WATCH the lock and the job hash, decide as the script does, then let
    ``Queue.enqueue(pipeline=...)`` queue its writes and add ``SET lock token EX ttl`` and
    the counter to the same MULTI/EXEC. A concurrent writer (or a lost reply: redis-py
    raises ``WatchError`` then) makes the loop start over and decide again.
    """
    lock = LOCK_PREFIX + key
    job_id = options["job_id"]
    job_key = Job.key_for(job_id)
    connection = queue.connection
    try:
        with connection.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(lock, job_key)
                    held = text_or_none(pipe.get(lock))
                    own = text_or_none(pipe.hget(job_key, scripts.TOKEN_FIELD))
                    if token in (held, own):
                        pipe.unwatch()
                        return Job.fetch(job_id, connection=connection, serializer=queue.serializer)
                    status = text_or_none(pipe.hget(job_key, "status"))
                    if held is not None or (status is not None and status not in _TERMINAL):
                        pipe.unwatch()
                        connection.hincrby(scripts.COUNTERS_DEDUPE_HITS, queue.name, 1)
                        _skipped(
                            queue,
                            key,
                            job_id,
                            "lock held" if held is not None else "first job still in flight",
                        )
                        return None
                    if status is not None:
                        # The earlier run is over and its window passed: clear it, decide again.
                        pipe.multi()
                        pipe.delete(job_key)
                        for registry in (
                            queue.finished_job_registry,
                            queue.failed_job_registry,
                            queue.canceled_job_registry,
                        ):
                            pipe.zrem(registry.key, job_id)
                        pipe.execute()
                        continue
                    job = queue.enqueue(func, args=args, kwargs=kwargs, pipeline=pipe, **options)
                    pipe.hset(job_key, scripts.TOKEN_FIELD, token)
                    pipe.set(lock, token, ex=ttl)
                    pipe.hincrby(scripts.COUNTERS_ENQUEUED, queue.name, 1)
                    pipe.execute()
                    return job
                except WatchError:
                    pipe.reset()
                    continue
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise unavailable(exc) from exc


def _import_callable(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.rpartition(".")
    obj: Any = None
    # Walk back until a module imports (``pkg.mod.Class.method`` is allowed).
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj  # type: ignore[no-any-return]
    raise ImportError(
        f"cannot import failure callback {path!r} (module {module_name!r}, name {attribute!r})"
    )


def release_lock_on_failure(job: Job, connection: Any, *exc_info: Any) -> None:
    """RQ ``on_failure`` callback set by :func:`enqueue_with_dedupe`.

    When the job has no retries left, delete ``job_lock:<key>`` if it still holds this
    job's token (one Lua script, so a newer lock of the same key is never deleted), so the
    provider's next retry of the event is enqueued. Then call the caller's own
    ``on_failure`` callback, if one was given. Releasing never raises.
    """
    meta = job.meta or {}
    key = meta.get(META_KEY)
    if key and not (job.retries_left is not None and job.retries_left > 0):
        try:
            released = scripts.run(
                scripts.RELEASE_LOCK, connection, [LOCK_PREFIX + key, job.key], []
            )
            if released:
                log.info("Released dedupe lock of failed job %s dedupe_key=%s", job.id, key)
        except Exception:  # noqa: BLE001 - the lock still expires with its TTL
            log.exception(
                "Could not release dedupe lock of failed job %s dedupe_key=%s", job.id, key
            )
    user_callback = meta.get(META_USER_ON_FAILURE)
    if user_callback:
        _import_callable(user_callback)(job, connection, *exc_info)
