"""Batched enqueue: many jobs in one round trip, each with the guarantees of the single call.

A webhook delivery often carries several messages, one job each. :func:`enqueue_many` and
:func:`enqueue_many_with_dedupe` send the whole batch as one pipeline of the same Lua
scripts that :func:`rqjobs.enqueue` and :func:`rqjobs.enqueue_with_dedupe` run (one
``EVALSHA`` per job, pre-encoded, on one connection, one round trip per
:data:`MAX_ROUND_TRIP` jobs), so every job is still one atomic step with its own token: a
lost reply makes the client re-send the batch, and every job already applied answers
"already done" instead of being enqueued twice; a duplicate is answered per job. The
results come back in the order of the jobs.

A dedupe key that repeats inside one batch (or that this process saw lately) is sent as a
probe without its payload: the script answers the duplicate without the job being built
or sent; when the probe finds the key free after all, the job follows in a second round
trip, decided again by the script.

Validation runs for the whole batch first: a bad key, option or queue raises
``ValueError`` before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Union

from redis.exceptions import RedisError, ResponseError
from rq.job import Job

from . import fastjob, replication, scripts, settings
from .connection import call_deadline_scope
from .dedupe import (
    DEFAULT_TTL,
    PlannedDedupe,
    PreparedDedupe,
    _hinted,
    _outcome,
    _remember,
    _reply,
    _skipped,
    compile_plan,
    dedupe_call,
    normalize_dedupe_key,
    plan_key_of,
    plan_of,
    prepare_dedupe,
)
from .enqueue import (
    QueueRef,
    _needs_rq_path,
    enqueue_call,
    make_job,
    origin_meta,
    raise_translated,
    resolve_queue,
    split_options,
)
from .errors import DuplicateJobError
from .keys import LOCK_PREFIX

__all__ = ["JobSpec", "enqueue_many", "enqueue_many_with_dedupe", "MAX_ROUND_TRIP"]

MAX_ROUND_TRIP = 1000  # jobs per round trip (a larger batch takes several)


class JobSpec:
    """One job of a batch: ``JobSpec(func, *args, **kwargs)``, the arguments of the single call.

    ``kwargs`` holds the function's keyword arguments and RQ's options (``job_timeout``,
    ``result_ttl``, ``meta``, ``retry``, ``at_front``, explicit ``args=``/``kwargs=``, ...)
    as for :func:`rqjobs.enqueue`; for :func:`enqueue_many_with_dedupe` also ``dedupe_key``
    (required), ``ttl``, ``release_on_failure`` and ``job_ttl``.
    """

    __slots__ = ("func", "args", "kwargs")

    def __init__(self, func: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"JobSpec({self.func!r}, *{self.args!r}, **{self.kwargs!r})"


SpecLike = Union[JobSpec, Sequence[Any]]


def _spec(item: SpecLike) -> JobSpec:
    """A :class:`JobSpec`; a tuple ``(func, args, kwargs)`` is accepted too."""
    if isinstance(item, JobSpec):
        return item
    if isinstance(item, (tuple, list)) and 1 <= len(item) <= 3:
        func = item[0]
        args = tuple(item[1]) if len(item) > 1 and item[1] is not None else ()
        kwargs = dict(item[2]) if len(item) > 2 and item[2] is not None else {}
        return JobSpec(func, *args, **kwargs)
    raise TypeError(f"a batch item must be a JobSpec or (func, args, kwargs), got {item!r}")


def _tokens(count: int) -> list[str]:
    """One token per job: 16 random hex digits shared by the batch + the job's index."""
    base = os.urandom(8).hex()
    return [f"{base}{index:08x}" for index in range(count)]


def _raise_first_error(replies: list[Any]) -> None:
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise_translated(reply)


def enqueue_many(queue: QueueRef, jobs: Iterable[SpecLike]) -> list[Job]:
    """Enqueue every job of ``jobs`` on ``queue`` in one round trip; the jobs, in order.

    Each job is what :func:`rqjobs.enqueue` would enqueue for the same arguments (same
    hash, same script, re-send safe). Not taken here (``ValueError``, nothing written):
    ``depends_on``, ``rate_limit``, ``pipeline=``, ``unique=True`` and a synchronous
    queue: use :func:`rqjobs.enqueue` for those. When Redis refuses a write (OOM,
    READONLY) or cannot be reached, the error is raised as by the single call; the jobs
    before it in the batch may have been enqueued (each one whole or not at all).
    """
    rq_queue = resolve_queue(queue)
    specs = [_spec(item) for item in jobs]
    prepared = []
    for spec in specs:
        call_args, func_kwargs, options = split_options(spec.args, spec.kwargs)
        if _needs_rq_path(rq_queue, options) or options.get("unique"):
            raise ValueError(
                "enqueue_many() does not take depends_on, rate_limit, pipeline= or unique=True, "
                "nor a synchronous queue: use rqjobs.enqueue() for those jobs"
            )
        options["meta"] = origin_meta(options.get("meta"))
        prepared.append((spec.func, call_args, func_kwargs, options))
    built = []
    calls = []
    moment = fastjob.now()
    for (func, call_args, func_kwargs, options), token in zip(prepared, _tokens(len(prepared))):
        job, fields = make_job(
            rq_queue, func, call_args, func_kwargs, options, token,
            fresh=options.get("job_id") is None, now=moment,
        )
        built.append((job, token))
        calls.append(enqueue_call(rq_queue, job, token, fields, options))
    connection = rq_queue.connection
    results: list[Job] = []
    try:
        with call_deadline_scope():
            for start in range(0, len(calls), MAX_ROUND_TRIP):
                replies = scripts.run_encoded(
                    scripts.ENQUEUE, connection, calls[start : start + MAX_ROUND_TRIP]
                )
                _raise_first_error(replies)
                for (job, _), reply in zip(built[start : start + MAX_ROUND_TRIP], replies):
                    if reply == scripts.DUPLICATE_LOCK:  # pragma: no cover - unique is refused
                        raise DuplicateJobError(f"Job with ID '{job.id}' already exists")
                    results.append(job)
            if built:
                last_job, last_token = built[-1]
                replication.confirm(  # one WAIT covers the batch (one ordered stream)
                    connection, job_key=last_job.key, token=last_token,
                    what=f"enqueue_many of {len(built)} jobs",
                )
    except RedisError as exc:
        raise_translated(exc)
    return results


def enqueue_many_with_dedupe(
    queue: QueueRef,
    jobs: Iterable[SpecLike],
    *,
    ttl: int = DEFAULT_TTL,
    release_on_failure: bool = True,
    job_ttl: int | None = None,
) -> list[Job | None]:
    """:func:`rqjobs.enqueue_with_dedupe` for every job of ``jobs``, in one round trip.

    Each job needs ``dedupe_key=`` in its :class:`JobSpec`; ``ttl``, ``release_on_failure``
    and ``job_ttl`` are the defaults of the batch, and a job may set its own. Returns, in
    order, the job or ``None`` for a duplicate (also when an earlier job of the same batch
    has the same key). Raises ``ValueError`` for a bad key, option or queue before anything
    is written, and the single call's errors when Redis refuses or cannot be reached.
    """
    rq_queue = resolve_queue(queue)
    specs = [_spec(item) for item in jobs]
    grace = settings.orphan_grace()
    calls_prepared: list[PreparedDedupe | PlannedDedupe] = []
    to_compile: dict[Any, PreparedDedupe] = {}
    for spec in specs:
        kwargs = dict(spec.kwargs)
        if "dedupe_key" not in kwargs:
            raise ValueError("enqueue_many_with_dedupe(): every JobSpec needs dedupe_key=")
        kwargs.setdefault("ttl", ttl)
        kwargs.setdefault("release_on_failure", release_on_failure)
        kwargs.setdefault("job_ttl", job_ttl)
        plan_key = None
        if len(kwargs) == 4:  # a plain call shape: served by its compiled plan if there is one
            plan_key = plan_key_of(
                rq_queue, spec.func, kwargs["ttl"], kwargs["release_on_failure"],
                kwargs["job_ttl"], grace,
            )
            plan = plan_of(plan_key, rq_queue)
            if plan is not None:
                key = normalize_dedupe_key(kwargs["dedupe_key"])
                calls_prepared.append(PlannedDedupe(plan, key, spec.args))
                continue
        general = prepare_dedupe(rq_queue, spec.func, spec.args, kwargs)
        if general.options.get("depends_on"):
            raise ValueError(
                "enqueue_many_with_dedupe() does not take depends_on: "
                "use rqjobs.enqueue_with_dedupe() for that job"
            )
        calls_prepared.append(general)
        if plan_key is not None:
            to_compile.setdefault(plan_key, general)
    connection = rq_queue.connection
    results: list[Job | None] = [None] * len(calls_prepared)
    seen: set[str] = set()
    try:
        with call_deadline_scope():
            for start in range(0, len(calls_prepared), MAX_ROUND_TRIP):
                chunk = calls_prepared[start : start + MAX_ROUND_TRIP]
                tokens = _tokens(len(chunk))
                moment = fastjob.now()
                calls: list[scripts.Call] = []
                jobs_built: list[Job | None] = []
                for prepared, token in zip(chunk, tokens):
                    prepared.token = token
                    if prepared.key in seen or _hinted(prepared.key):
                        jobs_built.append(None)  # a probe: no job built, no payload sent
                        calls.append(
                            dedupe_call(
                                rq_queue, prepared.key, prepared.ttl, token, prepared.job_id,
                                scripts.NO_FIELDS, prepared.options, None, grace,
                            )
                        )
                    elif type(prepared) is PlannedDedupe:
                        job, payload = prepared.encoded(moment)
                        jobs_built.append(job)
                        calls.append(payload)
                    else:
                        job, fields = prepared.build(rq_queue, moment)
                        jobs_built.append(job)
                        calls.append(
                            dedupe_call(
                                rq_queue, prepared.key, prepared.ttl, token, prepared.job_id,
                                fields, prepared.options, job.ttl, grace,
                            )
                        )
                    seen.add(prepared.key)
                replies = scripts.run_encoded(scripts.DEDUPE_ENQUEUE, connection, calls)
                _raise_first_error(replies)
                retry: list[int] = []
                for offset, reply in enumerate(replies):
                    prepared = chunk[offset]
                    code, state = _reply(reply)
                    maybe_job = jobs_built[offset]
                    if code == scripts.NEEDS_PAYLOAD:
                        retry.append(offset)
                        continue
                    if maybe_job is None:
                        _skipped(rq_queue, prepared.key, prepared.job_id, state)
                        results[start + offset] = None
                    else:
                        results[start + offset] = _outcome(
                            rq_queue, prepared.key, maybe_job, code, state
                        )
                    _remember(prepared.key, prepared.ttl)
                if retry:
                    full = []
                    for offset in retry:
                        prepared = chunk[offset]
                        job, fields = prepared.build(rq_queue)
                        jobs_built[offset] = job
                        full.append(
                            dedupe_call(
                                rq_queue, prepared.key, prepared.ttl, prepared.token,
                                prepared.job_id, fields, prepared.options, job.ttl, grace,
                            )
                        )
                    again = scripts.run_encoded(scripts.DEDUPE_ENQUEUE, connection, full)
                    _raise_first_error(again)
                    for offset, reply in zip(retry, again):
                        prepared = chunk[offset]
                        code, state = _reply(reply)
                        retried = jobs_built[offset]
                        assert retried is not None
                        results[start + offset] = _outcome(
                            rq_queue, prepared.key, retried, code, state
                        )
                        _remember(prepared.key, prepared.ttl)
            if calls_prepared:
                last = calls_prepared[-1]
                replication.confirm(  # one WAIT covers the batch (one ordered stream)
                    connection,
                    job_key=Job.key_for(last.job_id),
                    token=last.token,
                    lock_key=LOCK_PREFIX + last.key,
                    accepted=results[-1] is not None,
                    what=f"enqueue_many_with_dedupe of {len(calls_prepared)} jobs",
                )
    except RedisError as exc:
        raise_translated(exc)
    for shape, first in to_compile.items():  # later batches and calls of it go compiled
        compile_plan(shape, rq_queue, first)
    return results
