"""``enqueue_with_dedupe``: one event, one job, in one atomic step.

In Redis, one Lua script (:data:`rqjobs.scripts.DEDUPE_ENQUEUE`) either

* finds that the event is still held: the lock ``job_lock:<dedupe_key>`` exists (the
  dedupe window, ``ttl`` seconds) and its job ``rq:job:<id>`` is really in flight or
  finished inside the window, or there is no lock but the job is still in flight; it counts
  a hit in ``rqjobs:counters:dedupe_hits`` and the call returns ``None`` ("duplicate"); or
* writes the job hash, pushes its id, ``SADD rq:queues``, ``SET job_lock:<key> <token> EX ttl``
  and counts the enqueue, all together.

"In flight" is checked against the job's real state in the same script
(:data:`rqjobs.scripts.DEDUPE_STATE` states the rule): queued means in its queue list,
started means a live heartbeat, scheduled means in the scheduled registry with an RQ
scheduler running. A job that is gone (deleted from rq-dashboard, ``job.delete()``),
failed, stopped, canceled, orphaned (popped by a worker that died before starting it) or
started by a dead worker no longer holds the event: the redelivery is accepted and the stale
record is removed from rq's lists and registries first. A finished job holds its event for
the whole window, even after rq deletes its hash (the job's success callback marks the lock
``done:``).

There is no moment where the lock exists without the job: a crash, a dropped connection
or a lost reply leaves either both or neither. The job id is
``generate_deterministic_job_id(dedupe_key)``; a lost reply followed by a re-send is
recognised by the call's token (the lock's value) and returns the job.

The window is independent of RQ's ``result_ttl``/``failure_ttl``, and it never expires a
queued job: pass ``job_ttl=`` to bound how long the job may wait in the queue. When the
job finally fails (no retries left), an ``on_failure`` callback deletes the lock if it
still holds this job's token (``release_on_failure=False`` keeps the event held until the
lock's TTL, even though the job failed).

:func:`dedupe_status` and :func:`release_dedupe` (``rqjobs dedupe show|release KEY``) show
and release a key.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import time
import types
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from redis.exceptions import RedisError
from rq import Callback, Queue
from rq.job import Job

from . import fastjob, replication, scripts, settings
from .connection import call_deadline_scope, on_reset
from .enqueue import (
    HOST,
    QueueRef,
    make_job,
    new_token,
    origin_meta,
    raise_translated,
    resolve_queue,
    split_options,
)
from .errors import InvalidDedupeKeyError
from .job_ids import generate_deterministic_job_id
from .keys import LOCK_PREFIX, RQ_PREFIX
from .replies import text_or_none
from .roles import current_role
from .transaction import Restart, own_job, watched

__all__ = [
    "enqueue_with_dedupe",
    "enqueue_with_dedupe_result",
    "DedupeResult",
    "dedupe_status",
    "release_dedupe",
    "normalize_dedupe_key",
    "lock_key",
    "release_lock_on_failure",
    "mark_done_on_success",
    "LOCK_PREFIX",
    "MAX_KEY_LENGTH",
]

log = logging.getLogger("rqjobs.dedupe")

MAX_KEY_LENGTH = 256
DEFAULT_TTL = 600
META_KEY = "dedupe_key"
META_USER_ON_FAILURE = "rqjobs_on_failure"
META_USER_ON_SUCCESS = "rqjobs_on_success"
RELEASE_CALLBACK = "rqjobs.dedupe.release_lock_on_failure"
DONE_CALLBACK = "rqjobs.dedupe.mark_done_on_success"
_RELEASE = Callback(RELEASE_CALLBACK)
_DONE = Callback(DONE_CALLBACK)
KEEP_FIELD = "rqjobs_keep"  # release_on_failure=False, read by scripts.DEDUPE_STATE
# Unicode categories a key may not contain: control, format (zero-width characters, BOM,
# bidi marks), surrogate, line and paragraph separators.
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "a lone surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def normalize_dedupe_key(dedupe_key: object) -> str:
    """The key as stored, or ``InvalidDedupeKeyError`` (a ``ValueError``).

    The key is normalised to Unicode NFC first, so two spellings of ``é`` are one event.
    Rejected, with the position of the offending character: a non-string, an empty or
    blank key, leading/trailing whitespace, control characters, zero-width and other
    invisible format characters, line and paragraph separators, lone surrogates, and a key
    with an empty ``:``-separated part (``webhook:baileys:`` means the message id was
    missing). Keys longer than :data:`MAX_KEY_LENGTH` characters become
    ``<first 64 characters>:sha256:<digest>`` so hostile input cannot bloat Redis.
    """
    if not isinstance(dedupe_key, str):
        raise InvalidDedupeKeyError(f"dedupe_key must be a str, got {type(dedupe_key).__name__}")
    if (
        dedupe_key.isascii()
        and dedupe_key.isprintable()  # printable ASCII: no control character, already NFC
        and dedupe_key.strip() == dedupe_key
        and len(dedupe_key) <= MAX_KEY_LENGTH
        and dedupe_key
        and "::" not in dedupe_key
        and dedupe_key[0] != ":"
        and dedupe_key[-1] != ":"
        and ": " not in dedupe_key
        and " :" not in dedupe_key
    ):
        return dedupe_key  # the common case, without the per-character scan below
    for position, char in enumerate(dedupe_key):
        what = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if what is not None:
            raise InvalidDedupeKeyError(
                f"dedupe_key contains {what} (U+{ord(char):04X}) at position {position}: "
                f"{dedupe_key[:80].encode('ascii', 'backslashreplace').decode()!r}"
            )
    dedupe_key = unicodedata.normalize("NFC", dedupe_key)
    if not dedupe_key.strip():
        raise InvalidDedupeKeyError("dedupe_key must not be empty or blank")
    if dedupe_key != dedupe_key.strip():
        raise InvalidDedupeKeyError(
            f"dedupe_key has leading or trailing whitespace: {dedupe_key[:80]!r}"
        )
    parts = dedupe_key.split(":")
    if any(not part.strip() for part in parts):
        raise InvalidDedupeKeyError(
            f"dedupe_key {dedupe_key[:80]!r} has an empty part "
            "(a missing id between ':' separators?)"
        )
    if len(dedupe_key) > MAX_KEY_LENGTH:
        digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()
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

    To learn which job holds the event on a duplicate (to tell the provider), call
    :func:`enqueue_with_dedupe_result` instead: same arguments, same Redis work.
    """
    return _enqueue_dedupe(
        queue, func, args, dedupe_key, ttl, release_on_failure, job_ttl, kwargs, None
    )


@dataclass(frozen=True)
class DedupeResult:
    """What :func:`enqueue_with_dedupe_result` decided for one call.

    ``job``: the job this call enqueued (or, after a lost reply and a re-send, the job this
    call had already enqueued), ``None`` for a duplicate. ``duplicate``: the event is held by
    another job. ``holder_id``: the id of the job that holds the event: for a duplicate the
    job that was enqueued first (the one to name to the provider), otherwise ``job.id``. It
    is always ``generate_deterministic_job_id(dedupe_key)``, also when the holder has
    finished and rq has since deleted its hash (the ``done:`` lock case: ``state`` is
    ``"finished"``). ``state``: the dedupe script's one word for the holder's state
    (``queued``, ``popped``, ``started``, ``scheduled``, ``deferred``, ``finished``,
    ``failed`` for a duplicate; ``free``, ``own``, or what the earlier run was when a
    redelivery is accepted: ``gone``, ``failed``, ``dead``, ``orphaned``, ...), and
    ``reason`` the same in words (as ``rqjobs dedupe show`` prints it).
    """

    job: Optional[Job]
    duplicate: bool
    holder_id: str
    state: str
    reason: str
    dedupe_key: str
    queue: str
    connection: Any = field(default=None, repr=False, compare=False)  # the queue's
    serializer: Any = field(default=None, repr=False, compare=False)  # the queue's

    def holder(self) -> Optional[Job]:
        """The holder's job, fetched from Redis on the queue's connection (one round trip);
        ``None`` when its hash is gone (a finished job after its ``result_ttl``, a deleted
        job). ``self.job`` itself when this call enqueued it."""
        if self.job is not None:
            return self.job
        from rq.exceptions import NoSuchJobError

        conn = self.connection if self.connection is not None else _default_connection()
        try:
            with call_deadline_scope():
                return Job.fetch(self.holder_id, connection=conn, serializer=self.serializer)
        except NoSuchJobError:
            return None
        except RedisError as exc:
            raise_translated(exc)


def enqueue_with_dedupe_result(
    queue: QueueRef,
    func: Callable[..., Any] | str,
    *args: Any,
    dedupe_key: str,
    ttl: int = DEFAULT_TTL,
    release_on_failure: bool = True,
    job_ttl: int | None = None,
    **kwargs: Any,
) -> DedupeResult:
    """:func:`enqueue_with_dedupe` that also tells, for a duplicate, which job holds the event.

    Same arguments, same code path and the same writes in Redis: one ``EVALSHA`` of
    :data:`rqjobs.scripts.DEDUPE_ENQUEUE` (the WATCH/MULTI variant with ``depends_on``)
    reads ``job_lock:<key>`` and the state of ``rq:job:<id>``, where ``<id>`` is
    ``generate_deterministic_job_id(key)``. Held: it counts a hit (``HINCRBY
    rqjobs:counters:dedupe_hits``) and answers the holder's state in the same reply; the
    holder is ``rq:job:<id>``, so naming it costs no extra round trip and no extra command.
    Free: it writes the job hash, pushes the id, ``SADD rq:queues``, ``SET job_lock:<key>
    <token> EX ttl`` and counts the enqueue, atomically. Returns a :class:`DedupeResult`;
    ``result.job`` is what :func:`enqueue_with_dedupe` returns. Raises as
    :func:`enqueue_with_dedupe` does.

    A webhook handler can answer the provider with the holder::

        result = enqueue_with_dedupe_result("webhooks", handle, payload, dedupe_key=key)
        return {"job_id": result.holder_id, "duplicate": result.duplicate}, 202
    """
    report: dict[str, Any] = {}
    job = _enqueue_dedupe(
        queue, func, args, dedupe_key, ttl, release_on_failure, job_ttl, kwargs, report
    )
    code = report.get("code", scripts.APPLIED)
    state = report.get("state", "free")
    duplicate = job is None
    return DedupeResult(
        job=job,
        duplicate=duplicate,
        holder_id=report["job_id"],
        state=state,
        reason=_reason(code, state),
        dedupe_key=report["key"],
        queue=report["queue"],
        connection=report["connection"],
        serializer=report["serializer"],
    )


def _enqueue_dedupe(
    queue: QueueRef,
    func: Callable[..., Any] | str,
    args: tuple[Any, ...],
    dedupe_key: str,
    ttl: int,
    release_on_failure: bool,
    job_ttl: int | None,
    kwargs: dict[str, Any],
    report: dict[str, Any] | None,
) -> Job | None:
    """The one code path of both functions; ``report`` (when given) receives the key, the
    job id, the queue name and the script's ``code`` and ``state``."""
    dedupe_key = normalize_dedupe_key(dedupe_key)  # the key's and ttl's errors come first
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl (the dedupe window in seconds) must be a positive int, got {ttl!r}")
    rq_queue = resolve_queue(queue)
    plan_key = None
    if not kwargs:
        plan_key = plan_key_of(
            rq_queue, func, ttl, release_on_failure, job_ttl, settings.orphan_grace()
        )
        plan = plan_of(plan_key, rq_queue)
        if plan is not None and not _hinted(dedupe_key):
            return plan.run(dedupe_key, args, report)
    kwargs.update(
        dedupe_key=dedupe_key, ttl=ttl, release_on_failure=release_on_failure, job_ttl=job_ttl
    )
    prepared = prepare_dedupe(rq_queue, func, args, kwargs)
    key, ttl, token, extra = prepared.key, prepared.ttl, prepared.token, prepared.extra
    options, call_args, func_kwargs = prepared.options, prepared.args, prepared.kwargs
    job_id = prepared.job_id
    if report is not None:
        _report_call(report, key, job_id, rq_queue)
    dedupe = _dedupe_with_transaction if options.get("depends_on") else _dedupe_with_script
    try:
        with call_deadline_scope():  # every command of this call shares one deadline
            job = dedupe(
                rq_queue, func, call_args, func_kwargs, options, key, ttl, token, extra, report
            )
            replication.confirm(  # WAIT for RQJOBS_MIN_REPLICAS (off by default)
                rq_queue.connection,
                job_key=Job.key_for(job_id),
                token=token,
                lock_key=LOCK_PREFIX + key,
                accepted=job is not None,
                what=f"enqueue_with_dedupe of {key!r}",
            )
    except RedisError as exc:
        raise_translated(exc)
    if plan_key is not None:
        compile_plan(plan_key, rq_queue, prepared)
    return job


def _report_call(report: dict[str, Any], key: str, job_id: str, queue: Queue) -> None:
    """What :func:`enqueue_with_dedupe_result` reports of a call before Redis answers."""
    report.update(
        key=key,
        job_id=job_id,
        queue=queue.name,
        connection=queue.connection,
        serializer=queue.serializer,
    )


class PreparedDedupe:
    """One validated ``enqueue_with_dedupe`` call, before anything is built or sent."""

    __slots__ = ("func", "args", "kwargs", "options", "key", "ttl", "job_id", "token", "extra")

    def __init__(
        self,
        func: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: dict[str, Any],
        key: str,
        ttl: int,
        extra: dict[str, str],
    ) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.key = key
        self.ttl = ttl
        self.job_id: str = options["job_id"]
        self.token = new_token()
        self.extra = extra

    def build(self, queue: Queue, now: Any = None) -> tuple[Job, scripts.Fields]:
        """The job and its packed fields (lean path or RQ's build)."""
        return make_job(
            queue,
            self.func,
            self.args,
            self.kwargs,
            self.options,
            self.token,
            fresh=True,
            extra=self.extra,
            now=now,
        )


def prepare_dedupe(
    rq_queue: Queue, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> PreparedDedupe:
    """Validate one call (``kwargs``: ``dedupe_key``, ``ttl``, ``release_on_failure``,
    ``job_ttl`` and the call's own keywords) and fix its job id, meta and callbacks.
    Raises ``ValueError`` (nothing written) as :func:`enqueue_with_dedupe` documents."""
    kwargs = dict(kwargs)
    key = normalize_dedupe_key(kwargs.pop("dedupe_key"))
    ttl = kwargs.pop("ttl", DEFAULT_TTL)
    release_on_failure = kwargs.pop("release_on_failure", True)
    job_ttl = kwargs.pop("job_ttl", None)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl (the dedupe window in seconds) must be a positive int, got {ttl!r}")
    call_args, func_kwargs, options = split_options(args, kwargs)
    for refused in ("job_id", "pipeline", "unique", "rate_limit"):
        if options.get(refused) is not None and options.get(refused) is not False:
            raise ValueError(
                f"enqueue_with_dedupe() does not take {refused}= (the dedupe key decides the job)"
            )
    if "ttl" in options:  # pragma: no cover - ttl= is popped above; kept for clarity
        raise ValueError(
            "enqueue_with_dedupe(): ttl= is the dedupe window; pass job_ttl= for RQ's job ttl"
        )
    if not rq_queue.is_async:
        raise ValueError("enqueue_with_dedupe() needs an asynchronous queue (is_async=True)")
    if job_ttl is not None:
        options["ttl"] = job_ttl
    options["job_id"] = generate_deterministic_job_id(key)
    meta = origin_meta(options.get("meta"))
    meta[META_KEY] = key
    _chain_callback(options, meta, "on_success", META_USER_ON_SUCCESS, DONE_CALLBACK, _DONE)
    if release_on_failure:
        _chain_callback(
            options, meta, "on_failure", META_USER_ON_FAILURE, RELEASE_CALLBACK, _RELEASE
        )
    options["meta"] = meta
    extra = {} if release_on_failure else {KEEP_FIELD: "1"}
    return PreparedDedupe(func, call_args, func_kwargs, options, key, ttl, extra)


def _chain_callback(
    options: dict[str, Any],
    meta: dict[str, Any],
    name: str,
    meta_key: str,
    ours: str,
    default: Callback,
) -> None:
    """Put our callback in ``options[name]``; the caller's own one is recorded in ``meta``."""
    user_callback = options.get(name)
    timeout = None
    if user_callback is not None:
        meta[meta_key], timeout = _callback_name(user_callback)
    options[name] = default if timeout is None else Callback(ours, timeout=timeout)


# -- the compiled call: one plain call shape, its constant bytes built once ---------------

_PLAN_FUNC_TYPES = (str, types.FunctionType, types.BuiltinFunctionType)
_PLANS_MAX = 256


class _Plan:
    """One plain ``enqueue_with_dedupe`` call shape, compiled: everything of the script call
    that is the same for every call of the shape, encoded once.

    A shape is (queue object, function, ``ttl``, ``release_on_failure``, ``job_ttl``, the
    orphan grace, the service role, the process), with no other keyword. A plan is made
    after a call of its shape went the general way and its job shape was verified against
    RQ's own build (:mod:`rqjobs.fastjob`). Per call it does only what differs per event:
    the key check, the job id, the token, the job's per-job fields (data, description, meta,
    timestamps), and one ``EVALSHA`` of :data:`rqjobs.scripts.DEDUPE_ENQUEUE` with the same
    bytes the general path sends, under one call deadline, with the same replica check,
    the same logging and the same reply. Repeats this process has seen lately (the probe
    path), keywords and other callables go the general way. :func:`rqjobs.batch.
    enqueue_many_with_dedupe` sends the jobs of a compiled shape from the same bytes
    (:class:`PlannedDedupe`), pipelined."""

    __slots__ = (
        "queue",
        "client",
        "template",
        "ttl",
        "meta_by",
        "shared",
        "between",
        "after_id",
        "key_prefix",
    )

    def __init__(self, queue: Queue, template: Any, ttl: int, role: str, grace: float) -> None:
        self.queue = queue
        self.client = queue.connection
        self.template = template
        self.ttl = ttl
        self.meta_by = {"role": role, "host": HOST, "pid": os.getpid()}
        sample = scripts.Fields(b"", 0)
        keys, argv = dedupe_call(
            queue, "k", ttl, "t", "i", sample, {}, template.state.get("ttl"), grace
        )
        bulk = scripts.encoded
        self.shared = b"".join(bulk(item) for item in keys[2:])
        self.between = b"".join(bulk(item) for item in argv[1:5])
        self.after_id = b"$1\r\n1\r\n" + b"".join(bulk(item) for item in argv[7:9])
        self.key_prefix = template.key_prefix

    def lean(
        self, key: str, job_id: str, args: tuple[Any, ...], token: str, moment: Any = None
    ) -> fastjob.LeanJob:
        """The job of one call (``moment``: :func:`rqjobs.fastjob.now`, else now)."""
        meta = {"enqueued_by": dict(self.meta_by), META_KEY: key}
        when = () if moment is None else (moment[0], None, moment[1])
        return self.template.build(job_id, args, {}, meta, None, token, self.client, *when)

    def encode(self, key: str, job_id: str, token: str, lean: fastjob.LeanJob) -> bytes:
        """The ``EVALSHA`` of one call, as :func:`dedupe_call` + ``encode_call`` give it."""
        fields = lean.fields
        head = scripts.call_head(scripts.DEDUPE_ENQUEUE, 6, 6 + 9 + fields.count)
        item = fastjob._item
        return b"".join(
            (
                head,
                item((LOCK_PREFIX + key).encode()),
                item(lean.key.encode()),
                self.shared,
                item(token.encode()),
                self.between,
                item(job_id.encode()),
                self.after_id,
                fields.blob,
            )
        )

    def run(self, key: str, args: tuple[Any, ...], report: dict[str, Any] | None) -> Job | None:
        """One call of this shape for ``key`` (normalised) and ``args``."""
        queue = self.queue
        job_id = generate_deterministic_job_id(key)
        token = new_token()
        lean = self.lean(key, job_id, args, token)
        payload = self.encode(key, job_id, token, lean)
        if report is not None:
            _report_call(report, key, job_id, queue)
        try:
            with call_deadline_scope():
                result = scripts.send_one(scripts.DEDUPE_ENQUEUE, self.client, payload)
                code, state = _reply(result)
                replication.confirm(
                    self.client,
                    job_key=lean.key,
                    token=token,
                    lock_key=LOCK_PREFIX + key,
                    accepted=code not in (scripts.DUPLICATE_LOCK, scripts.DUPLICATE_IN_FLIGHT),
                    what=f"enqueue_with_dedupe of {key!r}",
                )
        except RedisError as exc:
            raise_translated(exc)
        if report is not None:
            report.update(code=code, state=state)
        _remember(key, self.ttl)
        return _outcome(queue, key, lean.job, code, state)


class PlannedDedupe:
    """One call of a compiled shape in a batch: what :class:`PreparedDedupe` gives the
    batch (key, ttl, job id, token, options, ``build``), without RQ's option handling."""

    __slots__ = ("plan", "args", "key", "ttl", "job_id", "token", "options")

    def __init__(self, plan: _Plan, key: str, args: tuple[Any, ...]) -> None:
        self.plan = plan
        self.args = args
        self.key = key
        self.ttl = plan.ttl
        self.job_id = generate_deterministic_job_id(key)
        self.token = ""
        self.options: dict[str, Any] = {}  # a plain shape: no at_front, no other option

    def build(self, queue: Queue, now: Any = None) -> tuple[Job, scripts.Fields]:
        lean = self.plan.lean(self.key, self.job_id, self.args, self.token, now)
        return lean.job, lean.fields

    def encoded(self, now: Any) -> tuple[Job, bytes]:
        """The job and its ``EVALSHA``, from the plan's constant bytes."""
        lean = self.plan.lean(self.key, self.job_id, self.args, self.token, now)
        return lean.job, self.plan.encode(self.key, self.job_id, self.token, lean)


def plan_key_of(
    queue: Queue, func: Any, ttl: Any, release_on_failure: Any, job_ttl: Any, grace: float
) -> tuple[Any, ...] | None:
    """The shape of a plain call (no keyword but these), or ``None`` when it has none."""
    if (
        type(func) not in _PLAN_FUNC_TYPES
        or type(ttl) is not int
        or type(release_on_failure) is not bool
        or not (job_ttl is None or type(job_ttl) is int)
    ):
        return None
    return (id(queue), func, ttl, release_on_failure, job_ttl, grace, current_role(), os.getpid())


def plan_of(plan_key: tuple[Any, ...] | None, queue: Queue) -> _Plan | None:
    """The compiled plan of ``plan_key`` on ``queue``, if there is one."""
    plan = _plans.get(plan_key) if plan_key is not None else None
    return plan if plan is not None and plan.queue is queue else None


def compile_plan(plan_key: tuple[Any, ...], queue: Queue, prepared: PreparedDedupe) -> None:
    """Compile the shape of ``prepared`` (a call that went the general way), if not yet."""
    if plan_key not in _plans:
        _compile(plan_key, queue, prepared)


_plans: dict[tuple[Any, ...], _Plan] = {}
on_reset(_plans.clear)  # rqjobs.reset_redis() and a forked child start without plans
fastjob.on_reset(_plans.clear)


def _compile(plan_key: tuple[Any, ...], queue: Queue, prepared: PreparedDedupe) -> None:
    """Make the plan of ``plan_key`` once its job shape is verified (else try next call)."""
    shape = fastjob.shape_key(
        queue, prepared.func, prepared.options, True, tuple(prepared.extra.items())
    )
    template = fastjob.lean_template(shape) if shape is not None else None
    if not template or not scripts.packed_client(queue.connection):
        return
    if len(_plans) >= _PLANS_MAX:
        _plans.clear()
    _plans[plan_key] = _Plan(queue, template, prepared.ttl, plan_key[6], plan_key[5])


def _skipped(queue: Queue, key: str, job_id: str, state: str) -> None:
    log.info(
        "Skipped duplicate job %s on %s (%s) dedupe_key=%s",
        job_id,
        queue.name,
        _STATE_REASONS.get(state, state),
        key,
    )


# Why a state holds the event (duplicate), or why it does not (accepted).
_STATE_REASONS = {
    "own": "this call already enqueued it",
    "queued": "the job is waiting in its queue",
    "popped": "a worker has just taken the job and not started it yet",
    "started": "the job is running on a live worker",
    "scheduled": "the job waits for its retry or its time, and an RQ scheduler is running",
    "deferred": "the job waits for its dependencies",
    "finished": "the job finished inside the dedupe window",
    "failed": "the job failed and release_on_failure=False keeps the event",
    "free": "there is no lock and no job",
    "gone": "the job was deleted (rq-dashboard, job.delete()) or expired",
    "orphaned": "the job is queued in no list or registry (its worker died after popping it)",
    "dead": "the job was started by a worker whose heartbeat stopped",
    "unscheduled": "the job is scheduled but no RQ scheduler runs for its queue",
    "stopped": "the job was stopped",
    "canceled": "the job was canceled",
}
_FAILED_REASON = "the job failed"


def _reason(code: int, state: str) -> str:
    if state == "failed" and code == scripts.APPLIED:
        return _FAILED_REASON
    if state == "finished" and code == scripts.APPLIED:
        return "the job finished and the dedupe window has passed"
    return _STATE_REASONS.get(state, f"the job is {state}")


def _reply(result: Any) -> tuple[int, str]:
    """The dedupe scripts' answer as ``(code, state)``: ``{code, state}`` (the status
    script) or ``code .. state`` in one string (the enqueue script)."""
    if isinstance(result, (bytes, str)):
        text = result.decode() if isinstance(result, bytes) else result
        return int(text[:1]), text[1:]
    code, state = result[0], result[1]
    return int(code), text_or_none(state) or ""


# Keys this process enqueued or saw answered as duplicates lately: a repeat of one is sent
# as a probe first (no job built, no payload sent). Only a hint: Redis decides every time,
# and a probe that finds the key free is followed by the full call (one more round trip).
_recent: dict[str, float] = {}
_RECENT_MAX = 4096


def _hinted(key: str) -> bool:
    until = _recent.get(key)
    return until is not None and until > time.monotonic()


def _remember(key: str, ttl: int) -> None:
    if len(_recent) >= _RECENT_MAX:
        _recent.clear()
    _recent[key] = time.monotonic() + ttl


def dedupe_call(
    queue: Queue,
    key: str,
    ttl: int,
    token: str,
    job_id: str,
    fields: scripts.Fields,
    options: dict[str, Any],
    job_ttl: Any,
    grace: float,
) -> tuple[list[Any], list[Any]]:
    """KEYS and ARGV of :data:`rqjobs.scripts.DEDUPE_ENQUEUE` (``fields=NO_FIELDS``: a probe)."""
    push = "L" if options.get("at_front") else "R"
    shared = (queue.key, queue.name, ttl, push, job_ttl, grace)
    constants = _constants.get(shared)
    if constants is None:
        if len(_constants) > 256:
            _constants.clear()
        constants = _constants[shared] = tuple(
            scripts.encoded(value)
            for value in (
                queue.key,
                Queue.redis_queues_keys,
                scripts.COUNTERS_ENQUEUED,
                scripts.COUNTERS_DEDUPE_HITS,
                ttl,
                push,
                job_ttl if job_ttl else -1,
                queue.name,
                RQ_PREFIX,
                grace,
            )
        )
    c = constants
    keys = [LOCK_PREFIX + key, Job.key_for(job_id), c[0], c[1], c[2], c[3]]
    # The script removes an older run's hash first, so the hash is written from scratch.
    argv = [token, c[4], c[5], c[6], c[7], job_id, b"1" if fields else b"", c[8], c[9], fields]
    return keys, argv


_constants: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # the arguments every call shares


def _dedupe_with_script(
    queue: Queue,
    func: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    key: str,
    ttl: int,
    token: str,
    extra: dict[str, str],
    report: dict[str, Any] | None = None,
) -> Job | None:
    job_id = options["job_id"]
    grace = settings.orphan_grace()
    if _hinted(key):
        keys, argv = dedupe_call(
            queue, key, ttl, token, job_id, scripts.NO_FIELDS, options, None, grace
        )
        code, state = _reply(scripts.run_one(scripts.DEDUPE_ENQUEUE, queue.connection, keys, argv))
        if code in (scripts.DUPLICATE_LOCK, scripts.DUPLICATE_IN_FLIGHT):
            if report is not None:
                report.update(code=code, state=state)
            _skipped(queue, key, job_id, state)
            return None
    job, fields = make_job(queue, func, args, kwargs, options, token, fresh=True, extra=extra)
    keys, argv = dedupe_call(queue, key, ttl, token, job_id, fields, options, job.ttl, grace)
    result = scripts.run_one(scripts.DEDUPE_ENQUEUE, queue.connection, keys, argv)
    code, state = _reply(result)
    if report is not None:
        report.update(code=code, state=state)
    _remember(key, ttl)
    return _outcome(queue, key, job, code, state)


def _outcome(queue: Queue, key: str, job: Job, code: int, state: str) -> Job | None:
    """``job``, or ``None`` for a duplicate; logged like the single call."""
    if code in (scripts.DUPLICATE_LOCK, scripts.DUPLICATE_IN_FLIGHT):
        _skipped(queue, key, job.id, state)
        return None
    if state not in ("free", "own"):
        log.warning(
            "Accepted redelivery of job %s on %s: %s dedupe_key=%s",
            job.id,
            queue.name,
            _reason(code, state),
            key,
        )
    log.debug("Enqueued job %s on %s dedupe_key=%s", job.id, queue.name, key)
    return job


def _status_call(
    connection: Any, key: str, *, stamp: bool, clear: bool
) -> tuple[int, str, Any, int, str | None, str | None]:
    """Run :data:`rqjobs.scripts.DEDUPE_STATUS` for ``key``: the same decision as the
    enqueue script, without enqueueing (``stamp``: record a first orphan sighting; ``clear``:
    remove a stale job record)."""
    job_id = generate_deterministic_job_id(key)
    reply = scripts.run(
        scripts.DEDUPE_STATUS,
        connection,
        [LOCK_PREFIX + key, Job.key_for(job_id)],
        [job_id, RQ_PREFIX, settings.orphan_grace(), int(stamp), int(clear)],
    )
    code, state = _reply(reply)
    return (
        code,
        state,
        reply[2] or None,
        int(reply[3]),
        text_or_none(reply[4] or None),
        text_or_none(reply[5] or None),
    )


def _dedupe_with_transaction(
    queue: Queue,
    func: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    key: str,
    ttl: int,
    token: str,
    extra: dict[str, str],
    report: dict[str, Any] | None = None,
) -> Job | None:
    """The WATCH/MULTI variant for ``depends_on`` (RQ's dependency logic must run).

    WATCH the lock and the job hash, decide with the same Lua rule as the script path
    (:data:`rqjobs.scripts.DEDUPE_STATUS`, which also removes a stale record), then let
    ``Queue.enqueue(pipeline=...)`` queue its writes and add ``SET lock token EX ttl`` and
    the counter to the same MULTI/EXEC. A concurrent writer (or a lost reply: redis-py
    raises ``WatchError`` then) makes the loop start over and decide again.
    """
    lock = LOCK_PREFIX + key
    job_id = options["job_id"]
    job_key = Job.key_for(job_id)
    connection = queue.connection
    _status_call(connection, key, stamp=True, clear=False)

    def attempt(pipe: Any) -> Job | None:
        own = own_job(pipe, job_id, token, queue)  # the EXEC that set the lock set this too
        if own is not None:
            if report is not None:
                report.update(code=scripts.ALREADY_APPLIED, state="own")
            return own
        code, state, *_ = _status_call(pipe, key, stamp=False, clear=False)
        if report is not None:
            report.update(code=code, state=state)
        if code in (scripts.DUPLICATE_LOCK, scripts.DUPLICATE_IN_FLIGHT):
            pipe.unwatch()
            connection.hincrby(scripts.COUNTERS_DEDUPE_HITS, queue.name, 1)
            _skipped(queue, key, job_id, state)
            return None
        if pipe.exists(job_key):
            # The earlier run no longer holds the event: clear it, then decide again.
            pipe.unwatch()
            _status_call(connection, key, stamp=False, clear=True)
            raise Restart
        job = queue.enqueue(func, args=args, kwargs=kwargs, pipeline=pipe, **options)
        fields: dict[Any, Any] = {scripts.TOKEN_FIELD: token, **extra}
        pipe.hset(job_key, mapping=fields)
        pipe.set(lock, token, ex=ttl)
        pipe.hincrby(scripts.COUNTERS_ENQUEUED, queue.name, 1)
        pipe.execute()
        return job

    return watched(connection, [lock, job_key], attempt)


def dedupe_status(dedupe_key: str, *, connection: Any = None) -> dict[str, Any]:
    """What Redis holds for ``dedupe_key``, and whether a redelivery would be accepted now.

    Reads only (one script, the same rule as :func:`enqueue_with_dedupe`). Returns
    ``dedupe_key`` (normalised), ``lock_key``, ``lock_ttl`` (seconds left, ``None``
    without a lock), ``lock_state`` (``"none"``, ``"held"``, or ``"done"``: the job finished
    inside the window), ``job_id``, ``job_status`` (rq's status, ``None`` when the hash is
    gone), ``queue``, ``state`` (one word), ``accepts_redelivery`` and ``reason``.
    Raises :class:`~rqjobs.errors.InvalidDedupeKeyError` for a bad key.
    """
    key = normalize_dedupe_key(dedupe_key)
    conn = connection if connection is not None else _default_connection()
    try:
        with call_deadline_scope():
            code, state, lock_value, pttl, status, origin = _status_call(
                conn, key, stamp=False, clear=False
            )
    except RedisError as exc:
        raise_translated(exc)
    lock_text = text_or_none(lock_value)
    if lock_text is None:
        lock_state = "none"
    elif lock_text.startswith("done:"):
        lock_state = "done"
    else:
        lock_state = "held"
    if code == scripts.APPLIED and state == "gone" and lock_state == "none":
        state = "free"
    return {
        "dedupe_key": key,
        "lock_key": LOCK_PREFIX + key,
        "lock_ttl": round(pttl / 1000.0, 3) if pttl and pttl > 0 else None,
        "lock_state": lock_state,
        "job_id": generate_deterministic_job_id(key),
        "job_status": status,
        "queue": origin,
        "state": state,
        "accepts_redelivery": code == scripts.APPLIED,
        "reason": _reason(code, state),
    }


def release_dedupe(dedupe_key: str, *, connection: Any = None) -> bool:
    """Delete ``job_lock:<key>``; ``True`` when there was a lock to delete.

    The job itself is left alone: while it is still in flight (queued, running, waiting for
    its retry), a redelivery remains a duplicate of it. Raises
    :class:`~rqjobs.errors.InvalidDedupeKeyError` for a bad key.
    """
    key = normalize_dedupe_key(dedupe_key)
    conn = connection if connection is not None else _default_connection()
    try:
        with call_deadline_scope():
            deleted = bool(conn.delete(LOCK_PREFIX + key))
    except RedisError as exc:
        raise_translated(exc)
    if deleted:
        log.warning("Released dedupe lock %s%s by hand", LOCK_PREFIX, key)
    return deleted


def _default_connection() -> Any:
    from .connection import get_redis

    return get_redis()


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


def mark_done_on_success(job: Job, connection: Any, result: Any = None, *rest: Any) -> None:
    """RQ ``on_success`` callback set by :func:`enqueue_with_dedupe`.

    Marks ``job_lock:<key>`` as ``done:<token>`` (keeping its TTL) while it still holds this
    job's token, so the event stays held for the rest of the window even after RQ deletes
    the job hash (``result_ttl``). Then calls the caller's own ``on_success`` callback.
    Marking never raises (a raising success callback would fail the job).
    """
    meta = job.meta or {}
    key = meta.get(META_KEY)
    if key:
        try:
            scripts.run(scripts.MARK_DONE, connection, [LOCK_PREFIX + key, job.key], [])
        except Exception:  # noqa: BLE001 - the lock still holds the event while the job exists
            log.exception("Could not mark dedupe lock of job %s done dedupe_key=%s", job.id, key)
    user_callback = meta.get(META_USER_ON_SUCCESS)
    if user_callback:
        _import_callable(user_callback)(job, connection, result, *rest)


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
