"""``enqueue``: RQ's ``Queue.enqueue`` through the shared connection, safe to re-send.

The job is built with RQ's public ``Queue.create_job`` and serialised with
``Job.to_dict()``; one Lua script (:mod:`rqjobs.scripts`) then writes the hash, pushes the
id, registers the queue and counts the enqueue, in one round trip. A random token in the
hash lets the script recognise a re-send of the same call (redis-py re-sends after a lost
reply), so the id is never pushed twice by one call.

Jobs that need RQ's own logic (``depends_on``, ``rate_limit``, a caller's ``pipeline=``,
a synchronous queue) go through ``Queue.enqueue`` in a WATCH/MULTI transaction that is
made idempotent with the same token.

``enqueue_at``/``enqueue_in`` schedule through RQ's own ``Queue.enqueue_at`` (the job hash
plus ``ZADD rq:scheduled:<queue>``) in the same kind of idempotent WATCH/MULTI transaction;
RQ's scheduler (run by ``rqjobs worker`` unless ``--without-scheduler``) moves the job to the
queue when it is due.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import types
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NoReturn, Union

from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job

from . import fastjob, replication, scripts
from .connection import call_deadline_scope, on_reset
from .errors import DuplicateJobError, RedisUnavailable, translate_redis_error, unavailable_error
from .queues import check_queue_name, get_queue
from .roles import current_role
from .transaction import own_job, watched

__all__ = ["enqueue", "enqueue_at", "enqueue_in", "resolve_queue", "RQ_OPTIONS"]

log = logging.getLogger("rqjobs.enqueue")

QueueRef = Union[str, Queue]

# Keywords that ``rq.Queue.enqueue`` takes for itself (everything else goes to the function).
RQ_OPTIONS = (
    "job_timeout",
    "description",
    "result_ttl",
    "ttl",
    "failure_ttl",
    "depends_on",
    "job_id",
    "at_front",
    "meta",
    "retry",
    "repeat",
    "on_success",
    "on_failure",
    "on_stopped",
    "rate_limit",
    "webhooks",
    "pipeline",
    "unique",
)
# ``Queue.enqueue`` keyword -> ``Queue.create_job`` keyword, for the script path.
_CREATE_JOB_NAMES = {
    "job_timeout": "timeout",
    "description": "description",
    "result_ttl": "result_ttl",
    "ttl": "ttl",
    "failure_ttl": "failure_ttl",
    "job_id": "job_id",
    "meta": "meta",
    "retry": "retry",
    "repeat": "repeat",
    "on_success": "on_success",
    "on_failure": "on_failure",
    "on_stopped": "on_stopped",
    "webhooks": "webhooks",
}

HOST = _HOST = socket.gethostname()  # this host's name, in every job's meta


def new_token() -> str:
    """A random per-call token (96 bits) that marks what this call wrote."""
    return os.urandom(12).hex()


def resolve_queue(queue: QueueRef) -> Queue:
    """``queue`` itself (name checked against ``RQJOBS_QUEUES``), or :func:`get_queue` of a name."""
    if isinstance(queue, str):
        return get_queue(queue)
    if isinstance(queue, Queue):
        check_queue_name(queue.name)
        return queue
    raise TypeError(f"queue must be a queue name or an rq.Queue, got {type(queue).__name__}")


def split_options(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]:
    """Separate RQ's own keywords from the function's, as ``Queue.parse_args`` does."""
    func_kwargs = dict(kwargs)
    options = {name: func_kwargs.pop(name) for name in RQ_OPTIONS if name in func_kwargs}
    if "args" in func_kwargs or "kwargs" in func_kwargs:
        if args:
            raise ValueError(
                "Extra positional arguments cannot be used when using explicit args and kwargs"
            )
        args = tuple(func_kwargs.pop("args", None) or ())
        func_kwargs = dict(func_kwargs.pop("kwargs", None) or {})
    return tuple(args), func_kwargs, options


def origin_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """``meta`` plus ``enqueued_by`` (service role, host, pid) of this process."""
    merged = dict(meta or {})
    merged.setdefault("enqueued_by", {"role": current_role(), "host": _HOST, "pid": os.getpid()})
    return merged


def build_job(
    queue: Queue, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], options: dict[str, Any]
) -> Job:
    """A queued ``Job`` made by RQ's public ``Queue.create_job``, ready to be written."""
    create_kwargs = {
        _CREATE_JOB_NAMES[name]: value
        for name, value in options.items()
        if name in _CREATE_JOB_NAMES and value is not None
    }
    if not isinstance(func, str) and getattr(func, "__module__", None) == "__main__":
        raise ValueError("Functions from the __main__ module cannot be processed by workers")
    job = queue.create_job(func, args=args, kwargs=kwargs, **create_kwargs)
    job.origin = queue.name
    job.enqueued_at = datetime.now(timezone.utc)
    return job


def job_fields(
    job: Job, token: str, *, fresh: bool = False, extra: dict[str, str] | None = None
) -> scripts.Fields:
    """The job hash for the scripts: ``Job.to_dict()`` plus the call's token, packed.

    ``fresh``: the hash is written from scratch (see :func:`rqjobs.scripts.hset_args`).
    ``extra``: more fields of ours (``rqjobs_keep`` for dedupe).
    """
    mapping = job.to_dict()
    mapping[scripts.TOKEN_FIELD] = token
    if extra:
        mapping.update(extra)
    return scripts.pack_fields(scripts.hset_args(mapping, fresh=fresh))


def make_job(
    queue: Queue,
    func: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    token: str,
    *,
    fresh: bool,
    extra: dict[str, str] | None = None,
    now: tuple[datetime, bytes] | None = None,
) -> tuple[Job, scripts.Fields]:
    """The job and its packed hash fields: the lean path (:mod:`rqjobs.fastjob`) for a
    verified shape, else RQ's ``create_job`` + ``to_dict`` (which also verifies a new shape).
    ``now``: :func:`rqjobs.fastjob.now`, one timestamp for the jobs of a batch."""
    shape = fastjob.shape_key(queue, func, options, fresh, tuple(extra.items()) if extra else ())
    template: Any = False
    if shape is not None:
        template = fastjob.lean_template(shape)
        if template:
            lean = template.build(
                options.get("job_id"), args, kwargs, options["meta"], options.get("description"),
                token, queue.connection,
                *((now[0], None, now[1]) if now is not None else ()),
            )
            return lean.job, lean.fields
    job = build_job(queue, func, args, kwargs, options)
    fields = job_fields(job, token, fresh=fresh, extra=extra)
    if template is False and shape is not None:
        fastjob.calibrate(shape, job, fields, args, kwargs, options.get("description"), token)
    return job, fields


def unavailable(exc: Exception) -> RedisUnavailable:
    """A :class:`RedisUnavailable` naming the redacted URL, for ``raise ... from exc``.

    Kept for older call sites; new code uses :func:`rqjobs.errors.translate_redis_error`,
    which also names Redis's refusals (READONLY, OOM, NOPERM, ...).
    """
    if isinstance(exc, RedisUnavailable):  # already translated (by the client): same text
        return copy.copy(exc)
    return unavailable_error(exc)


def raise_translated(exc: Exception) -> NoReturn:
    """Raise ``translate_redis_error(exc)`` from ``exc`` (``exc`` itself when unchanged)."""
    translated = translate_redis_error(exc)
    if translated is exc:
        raise exc
    raise translated from exc


def _needs_rq_path(queue: Queue, options: dict[str, Any]) -> bool:
    return bool(
        options.get("depends_on")
        or options.get("rate_limit")
        or options.get("pipeline") is not None
        or not queue.is_async
    )


def enqueue(queue: QueueRef, func: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> Job:
    """Enqueue ``func(*args, **kwargs)`` on ``queue`` (a name or an ``rq.Queue``); return the job.

    Same keywords and meaning as ``rq.Queue.enqueue`` (``job_timeout``, ``result_ttl``,
    ``failure_ttl``, ``ttl``, ``job_id``, ``depends_on``, ``at_front``, ``meta``, ``retry``,
    ``on_success``, ``on_failure``, ``description``, explicit ``args=``/``kwargs=``, ...).
    ``job.meta["enqueued_by"]`` records the service role, host and pid.

    In Redis, in one Lua script: ``HSET rq:job:<id>`` (RQ's fields), ``EXPIRE`` when
    ``ttl`` is given, ``RPUSH rq:queue:<name> <id>`` (``LPUSH`` with ``at_front``),
    ``SADD rq:queues``, ``HINCRBY rqjobs:counters:enqueued <name> 1``. A re-send of the
    same call after a lost reply changes nothing. As with RQ, enqueueing an explicit
    ``job_id`` that already exists overwrites that job and pushes it again (use
    ``unique=True`` or :func:`rqjobs.enqueue_with_dedupe` to prevent that).

    All the commands of one call share one deadline (``RQJOBS_CALL_DEADLINE``, 10 s, see
    :func:`rqjobs.connection.call_deadline_scope`), retries included, except for a
    synchronous queue (``is_async=False``), whose job runs inline.

    Raises ``ValueError`` for an unknown queue (``RQJOBS_QUEUES``) or bad options,
    ``rq.exceptions.DuplicateJobError`` with ``unique=True`` when the id exists,
    :class:`rqjobs.errors.RedisUnavailable` when Redis cannot be reached within the
    deadline, and :class:`rqjobs.errors.RedisRefused` when Redis refuses the write
    (READONLY replica, OOM, NOPERM, MISCONF, LOADING, BUSY; the message names the fix).
    """
    rq_queue = resolve_queue(queue)
    plan_key = None
    if not kwargs and type(func) in _PLAN_FUNC_TYPES:
        plan_key = (id(rq_queue), func, current_role(), os.getpid())
        plan = _plans.get(plan_key)
        if plan is not None and plan.queue is rq_queue:
            return plan.run(args)
    call_args, func_kwargs, options = split_options(args, kwargs)
    options["meta"] = origin_meta(options.get("meta"))
    if _needs_rq_path(rq_queue, options):
        return _enqueue_with_rq(rq_queue, func, call_args, func_kwargs, options)
    token = new_token()
    # A generated id is new, so its hash is written from scratch; an explicit id may
    # overwrite an older job (RQ semantics), whose stale fields the empty values clear.
    job, fields = make_job(
        rq_queue, func, call_args, func_kwargs, options, token, fresh=options.get("job_id") is None
    )
    connection = rq_queue.connection
    keys, argv = enqueue_call(rq_queue, job, token, fields, options)
    try:
        with call_deadline_scope():  # EVALSHA (+ SCRIPT LOAD, EVALSHA): one deadline
            result = scripts.run_one(scripts.ENQUEUE, connection, keys, argv)
            replication.confirm(  # WAIT for RQJOBS_MIN_REPLICAS (off by default)
                connection,
                job_key=job.key,
                token=token,
                accepted=result != scripts.DUPLICATE_LOCK,
                what=f"enqueue of job {job.id}",
            )
    except RedisError as exc:
        raise_translated(exc)
    if result == scripts.DUPLICATE_LOCK:
        raise DuplicateJobError(f"Job with ID '{job.id}' already exists")
    log.debug("Enqueued job %s on %s", job.id, rq_queue.name)
    if plan_key is not None and plan_key not in _plans:
        _compile(plan_key, rq_queue, func, options)
    return job


# -- the compiled call: ``enqueue(queue, func, *args)`` with no keyword --------------------

_PLAN_FUNC_TYPES = (str, types.FunctionType, types.BuiltinFunctionType)
_PLANS_MAX = 256


class _Plan:
    """One plain ``enqueue`` call shape (queue object, function, service role, process; no
    keyword), compiled once its job shape is verified against RQ's own build
    (:mod:`rqjobs.fastjob`): the bytes of :data:`rqjobs.scripts.ENQUEUE`'s ``EVALSHA``
    that every call of the shape shares are encoded once. Per call: the job id, the token,
    the per-job fields, one ``EVALSHA`` with the bytes the general path sends, under one
    call deadline, with the same replica check and log line."""

    __slots__ = ("queue", "client", "template", "meta_by", "keys", "between")

    def __init__(self, queue: Queue, template: Any, role: str) -> None:
        self.queue = queue
        self.client = queue.connection
        self.template = template
        self.meta_by = {"role": role, "host": _HOST, "pid": os.getpid()}
        bulk = scripts.encoded
        self.keys = b"".join(
            bulk(item) for item in (queue.key, Queue.redis_queues_keys, scripts.COUNTERS_ENQUEUED)
        )
        self.between = b"".join(bulk(item) for item in ("R", -1, queue.name, "0"))

    def encode(self, token: str, lean: fastjob.LeanJob) -> bytes:
        """The ``EVALSHA`` of one call, as :func:`enqueue_call` + ``encode_call`` give it."""
        fields = lean.fields
        head = scripts.call_head(scripts.ENQUEUE, 4, 4 + 6 + fields.count)
        item = fastjob._item
        return b"".join(
            (
                head,
                item(lean.key.encode()),
                self.keys,
                item(token.encode()),
                self.between,
                item(lean.id.encode()),
                fields.blob,
            )
        )

    def run(self, args: tuple[Any, ...]) -> Job:
        token = new_token()
        meta = {"enqueued_by": dict(self.meta_by)}
        lean = self.template.build(None, args, {}, meta, None, token, self.client)
        payload = self.encode(token, lean)
        try:
            with call_deadline_scope():
                scripts.send_one(scripts.ENQUEUE, self.client, payload)
                replication.confirm(
                    self.client,
                    job_key=lean.key,
                    token=token,
                    accepted=True,
                    what=f"enqueue of job {lean.id}",
                )
        except RedisError as exc:
            raise_translated(exc)
        log.debug("Enqueued job %s on %s", lean.id, self.queue.name)
        return lean.job  # type: ignore[no-any-return]


_plans: dict[tuple[Any, ...], _Plan] = {}
on_reset(_plans.clear)  # rqjobs.reset_redis() and a forked child start without plans
fastjob.on_reset(_plans.clear)


def _compile(plan_key: tuple[Any, ...], queue: Queue, func: Any, options: dict[str, Any]) -> None:
    """Make the plan of ``plan_key`` once its job shape is verified (else try next call)."""
    shape = fastjob.shape_key(queue, func, options, True, ())
    template = fastjob.lean_template(shape) if shape is not None else None
    if not template or not scripts.packed_client(queue.connection):
        return
    if len(_plans) >= _PLANS_MAX:
        _plans.clear()
    _plans[plan_key] = _Plan(queue, template, plan_key[2])


def enqueue_call(
    queue: Queue, job: Job, token: str, fields: scripts.Fields, options: dict[str, Any]
) -> tuple[list[Any], list[Any]]:
    """KEYS and ARGV of :data:`rqjobs.scripts.ENQUEUE` for ``job``."""
    keys = [job.key, queue.key, Queue.redis_queues_keys, scripts.COUNTERS_ENQUEUED]
    argv = [
        token,
        "L" if options.get("at_front") else "R",
        job.ttl if job.ttl else -1,
        queue.name,
        "1" if options.get("unique") else "0",
        job.id,
        fields,
    ]
    return keys, argv


def _enqueue_with_rq(
    queue: Queue, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], options: dict[str, Any]
) -> Job:
    """RQ's own ``Queue.enqueue`` for what the script does not cover, made idempotent.

    The id is fixed before the first attempt; the transaction WATCHes the job hash and
    writes the call's token into it, so a retry after a lost EXEC reply (redis-py raises
    ``WatchError`` then) finds the token and returns instead of enqueueing again.
    """
    if options.pop("unique", False):
        raise ValueError("unique=True cannot be combined with depends_on, rate_limit or pipeline=")
    user_pipeline = options.pop("pipeline", None)
    if user_pipeline is not None:
        job = queue.enqueue(func, args=args, kwargs=kwargs, pipeline=user_pipeline, **options)
        user_pipeline.hincrby(scripts.COUNTERS_ENQUEUED, queue.name, 1)
        return job
    if not queue.is_async:
        # The job runs here, inline: no shared deadline (each command has its own).
        try:
            job = queue.enqueue(func, args=args, kwargs=kwargs, **options)
            queue.connection.hincrby(scripts.COUNTERS_ENQUEUED, queue.name, 1)
        except RedisError as exc:
            raise_translated(exc)
        return job
    if options.get("rate_limit"):
        try:
            with call_deadline_scope():
                job = queue.enqueue(func, args=args, kwargs=kwargs, **options)
                queue.connection.hincrby(scripts.COUNTERS_ENQUEUED, queue.name, 1)
        except RedisError as exc:
            raise_translated(exc)
        return job
    options.setdefault("job_id", None)
    if options["job_id"] is None:
        options["job_id"] = str(uuid.uuid4())
    token = new_token()
    job_key = Job.key_for(options["job_id"])
    job_id = options["job_id"]

    def attempt(pipe: Any) -> Job:
        own = own_job(pipe, job_id, token, queue)
        if own is not None:
            return own
        job = queue.enqueue(func, args=args, kwargs=kwargs, pipeline=pipe, **options)
        pipe.hset(job_key, scripts.TOKEN_FIELD, token)
        pipe.hincrby(scripts.COUNTERS_ENQUEUED, queue.name, 1)
        pipe.execute()
        return job

    try:
        with call_deadline_scope():
            return watched(queue.connection, [job_key], attempt)
    except RedisError as exc:
        raise_translated(exc)


def enqueue_at(
    queue: QueueRef, when: datetime, func: Callable[..., Any] | str, *args: Any, **kwargs: Any
) -> Job:
    """Schedule ``func(*args, **kwargs)`` on ``queue`` for ``when``; return the (scheduled) job.

    The wrapper's ``rq.Queue.enqueue_at``: same arguments and keywords as :func:`enqueue`
    (``job_timeout``, ``result_ttl``, ``job_id``, ``meta``, ``retry``, ``at_front``, explicit
    ``args=``/``kwargs=``, ``unique=True`` with a ``job_id``, ``pipeline=``, ...), the same
    queue lookup (a name checked against ``RQJOBS_QUEUES``, or an ``rq.Queue``), the same
    ``job.meta["enqueued_by"]``, the same one-call deadline and the same errors. A naive
    ``when`` is local time, as in RQ; a ``when`` in the past is due at once. Unlike plain RQ,
    which truncates ``when`` to the second (so a job can run up to 1 s early), ``when`` is
    rounded up to the next whole second: the job is never due before ``when``.

    In Redis, in one WATCH/MULTI/EXEC on ``rq:job:<id>``: RQ's own writes (``SADD
    rq:queues``, ``HSET rq:job:<id>`` with ``status=scheduled``, ``ZADD rq:scheduled:<name>
    <when as a Unix timestamp, rounded up to whole seconds> <id>``), the call's token in the
    hash and ``HINCRBY rqjobs:counters:enqueued <name> 1``. A re-send after a lost reply
    finds the token and changes nothing. Nothing is pushed to ``rq:queue:<name>`` yet: RQ's
    scheduler (inside ``rqjobs worker``, on by default; ``rq worker --with-scheduler``) moves
    the job there once it is due, so without a scheduler the job stays scheduled.

    Raises ``ValueError`` for an unknown queue or bad options (``unique=True`` without a
    ``job_id`` or with ``pipeline=``), ``TypeError`` when ``when`` is not a ``datetime``,
    ``rq.exceptions.DuplicateJobError`` with ``unique=True`` when the id exists,
    :class:`rqjobs.errors.RedisUnavailable` / :class:`rqjobs.errors.RedisRefused` as
    :func:`enqueue` does.
    """
    if not isinstance(when, datetime):
        raise TypeError(f"when must be a datetime, got {type(when).__name__}")
    return _schedule(queue, when, func, args, kwargs)


def enqueue_in(
    queue: QueueRef, delay: timedelta, func: Callable[..., Any] | str, *args: Any, **kwargs: Any
) -> Job:
    """Schedule ``func(*args, **kwargs)`` on ``queue`` to run ``delay`` from now; return the job.

    :func:`enqueue_at` with ``when = datetime.now(timezone.utc) + delay`` (taken once, before
    anything is sent, so a retry does not move the time): the same keywords, writes in Redis
    (``ZADD rq:scheduled:<name>``, the job hash, the counter, one idempotent MULTI/EXEC),
    deadline and errors. The job is never due before ``delay`` has passed; RQ's scheduler
    polls (every second by default in ``rqjobs worker``), so it runs about ``delay`` to
    ``delay + 2 s`` after the call. Raises ``TypeError`` when ``delay`` is not a ``timedelta``.
    """
    if not isinstance(delay, timedelta):
        raise TypeError(f"delay must be a timedelta, got {type(delay).__name__}")
    return _schedule(queue, datetime.now(timezone.utc) + delay, func, args, kwargs)


def due_second(when: datetime) -> datetime:
    """``when`` in UTC, rounded up to a whole second (a naive ``when`` is local time, as RQ
    takes it). RQ's scheduled registry keeps whole seconds and truncates: rounding up makes
    the job due at ``when`` or up to a second later, never before it."""
    utc = when.astimezone(timezone.utc)  # naive: the local time zone, as RQ's registry does
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return utc


def _register(pipe: Any, queue: Queue, job_id: str, when: datetime) -> None:
    """``ZADD rq:scheduled:<queue> <when> <id>`` in ``pipe`` (the same member and score RQ
    writes). RQ 2.x's ``ScheduledJobRegistry.schedule`` ignores the pipeline and writes at
    once: this keeps the entry inside the transaction there too; a ZADD written early with
    no job hash behind it (EXEC never came) is skipped and removed by RQ's scheduler."""
    from rq.registry import ScheduledJobRegistry

    key = ScheduledJobRegistry(queue=queue).key
    pipe.zadd(key, {job_id: int(when.timestamp())})


def _schedule(
    queue: QueueRef,
    when: datetime,
    func: Callable[..., Any] | str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Job:
    """``Queue.enqueue_at`` in an idempotent WATCH/MULTI, under one call deadline."""
    when = due_second(when)
    rq_queue = resolve_queue(queue)
    call_args, func_kwargs, options = split_options(args, kwargs)
    options["meta"] = origin_meta(options.get("meta"))
    if not isinstance(func, str) and getattr(func, "__module__", None) == "__main__":
        raise ValueError("Functions from the __main__ module cannot be processed by workers")
    unique = bool(options.pop("unique", False))
    user_pipeline = options.pop("pipeline", None)
    if user_pipeline is not None:
        if unique:
            raise ValueError("unique=True cannot be combined with pipeline=")
        job = rq_queue.enqueue_at(
            when, func, args=call_args, kwargs=func_kwargs, pipeline=user_pipeline, **options
        )
        _register(user_pipeline, rq_queue, job.id, when)
        user_pipeline.hincrby(scripts.COUNTERS_ENQUEUED, rq_queue.name, 1)
        return job
    if unique and options.get("job_id") is None:
        raise ValueError("unique=True requires an explicit job_id")
    if options.get("job_id") is None:
        options["job_id"] = str(uuid.uuid4())
    job_id = str(options["job_id"])
    job_key = Job.key_for(job_id)
    token = new_token()

    def attempt(pipe: Any) -> Job:
        own = own_job(pipe, job_id, token, rq_queue)
        if own is not None:
            return own
        if unique and pipe.exists(job_key):
            pipe.unwatch()
            raise DuplicateJobError(f"Job with ID '{job_id}' already exists")
        pipe.multi()
        job = rq_queue.enqueue_at(
            when, func, args=call_args, kwargs=func_kwargs, pipeline=pipe, **options
        )
        _register(pipe, rq_queue, job_id, when)
        pipe.hset(job_key, scripts.TOKEN_FIELD, token)
        pipe.hincrby(scripts.COUNTERS_ENQUEUED, rq_queue.name, 1)
        pipe.execute()
        return job

    try:
        with call_deadline_scope():
            job = watched(rq_queue.connection, [job_key], attempt)
    except RedisError as exc:
        raise_translated(exc)
    log.debug("Scheduled job %s on %s for %s", job.id, rq_queue.name, when.isoformat())
    return job
