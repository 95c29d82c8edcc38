"""The lean job path: RQ's job hash without RQ's per-job ``Job`` machinery.

``rqjobs.enqueue``, ``enqueue_with_dedupe`` and the batch calls write exactly the job hash
that RQ's ``Queue.create_job(...).to_dict()`` gives for the same inputs (every non-empty
field byte-identical; the empty strings RQ writes only to clear an older hash are left out
of a new one, as before). Building an RQ ``Job`` costs more than the write itself
(``create_job``, callback and serializer resolution, ``to_dict``, field packing), so the
lean path builds it once per *shape* and then only the per-job fields.

A shape is what makes the static part of the hash: the queue (name, serializer, default
timeout), the function reference, and the values of the options that do not change per
job (``job_timeout``, ``result_ttl``, ``ttl``, ``failure_ttl``, ``retry``, ``on_success``,
``on_failure``, ``on_stopped``) plus our own extra fields. The first call of a shape goes
through RQ's own ``create_job`` and ``to_dict``; the lean builder computes the same job
from the same inputs and timestamps and compares the two field by field. Only a shape
whose fields all match is served lean afterwards, so an RQ version that serialises a field
differently falls back to RQ's path instead of writing a different hash. Per job the lean
path computes what RQ computes per job, with RQ's own functions: ``data`` (the queue's
serializer over ``(func_name, None, args, kwargs)``, zlib-compressed), ``description``
(``rq.utils.get_call_string(..., max_length=75)`` unless given), ``meta`` (the
serializer), ``created_at``/``enqueued_at`` (RQ's timestamp format) and the id (a UUID4).
The returned ``Job`` is a copy of the shape's RQ-built job with those fields replaced.

Covered: a function given as a dotted string, a module-level function or a builtin; the
options above given as ints/strings, ``rq.Retry`` and ``rq.Callback``; ``description``,
``meta``, ``job_id``, ``at_front``, ``unique``. Falls back to RQ's ``create_job`` (same
result, more CPU): bound methods and callable objects, callbacks given as plain callables
(deprecated in RQ), ``repeat``, ``webhooks``, a custom ``Queue.create_job`` or job class,
and values that cannot key a shape (unhashable). ``depends_on``, ``rate_limit``,
``pipeline=`` and synchronous queues go through RQ's ``Queue.enqueue`` as before.
"""

from __future__ import annotations

import inspect
import os
import threading
import types
import zlib
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from rq import Callback, Queue, Retry
from rq.job import Job

from .scripts import Fields

try:  # every supported RQ has it; the calibration catches a different signature
    from rq.utils import get_call_string as _rq_call_string
except ImportError:  # pragma: no cover - an RQ without it: every shape falls back
    _rq_call_string = None  # type: ignore[assignment]

__all__ = ["LEAN_OPTIONS", "LeanJob", "lean_template", "unpack_fields", "stats", "now"]

# Options the lean path takes; the others (repeat, webhooks, ...) fall back to RQ's build.
LEAN_OPTIONS = frozenset(
    {
        "job_timeout",
        "result_ttl",
        "ttl",
        "failure_ttl",
        "retry",
        "on_success",
        "on_failure",
        "on_stopped",
        "description",
        "meta",
        "job_id",
        "at_front",
        "unique",
    }
)
# Per-job options: not part of a shape.
_PER_JOB = frozenset({"description", "meta", "job_id", "at_front", "unique"})
# Fields the lean path computes per job; every other field comes from the shape.
DYNAMIC_FIELDS = ("created_at", "enqueued_at", "data", "description", "meta", "rqjobs_token")
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # rq.utils.utcformat
_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType)
_MAX_SHAPES = 1024

_utc = timezone.utc
_compress = zlib.compress
_urandom = os.urandom
_lock = threading.Lock()
_templates: dict[Any, Optional[LeanTemplate]] = {}
# Shapes checked against RQ (and how that ended), jobs built lean.
stats = {"calibrated": 0, "mismatch": 0, "lean": 0}


def now() -> tuple[datetime, bytes]:
    """The current time and its RQ timestamp text: one for all the jobs of a batch."""
    moment = datetime.now(_utc)
    return moment, timestamp(moment)


def timestamp(moment: datetime) -> bytes:
    """``moment`` as RQ writes it (``rq.utils.utcformat``: ``%Y-%m-%dT%H:%M:%S.%fZ``),
    formatted without ``strftime`` (a third of its cost)."""
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


def new_id() -> str:
    """A random UUID4 in RQ's spelling (``str(uuid.uuid4())``), built with less work."""
    raw = bytearray(_urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _item(data: bytes) -> bytes:
    """One RESP bulk string, as ``scripts.pack_fields`` encodes each item."""
    return b"$%d\r\n%b\r\n" % (len(data), data)


def unpack_fields(fields: Fields) -> dict[bytes, bytes]:
    """``scripts.pack_fields`` output back as ``{field: value}`` (tests and calibration)."""
    return fields.as_dict()


def _option_key(options: dict[str, Any]) -> tuple[Any, ...] | None:
    """The shape part of ``options``, or ``None`` when the lean path does not cover them."""
    parts: list[Any] = []
    for name, value in options.items():
        if value is None or name in _PER_JOB:
            continue
        if name not in LEAN_OPTIONS:
            return None
        if name == "retry":
            if type(value) is not Retry:
                return None
            parts.append(
                (name, value.max, tuple(value.intervals), getattr(value, "enqueue_at_front", None))
            )
        elif name in ("on_success", "on_failure", "on_stopped"):
            if type(value) is not Callback or not isinstance(value.func, str):
                return None
            parts.append((name, value.func, value.timeout))
        elif type(value) in (int, str):
            parts.append((name, value))
        else:
            return None
    return tuple(parts)


def _func_key(func: Any) -> Any:
    if type(func) is str:
        return func
    if isinstance(func, _FUNCTION_TYPES) and not inspect.ismethod(func):
        owner = getattr(func, "__self__", None)
        if owner is not None and not inspect.ismodule(owner):
            return None  # a builtin method bound to an object
        return func
    return None


def shape_key(
    queue: Queue, func: Any, options: dict[str, Any], fresh: bool, extra: tuple[Any, ...]
) -> tuple[Any, ...] | None:
    """The cache key of the job's shape, or ``None`` (not covered: build with RQ)."""
    if type(queue).create_job is not Queue.create_job or queue.job_class is not Job:
        return None
    func_key = _func_key(func)
    if func_key is None:
        return None
    option_key = _option_key(options)
    if option_key is None:
        return None
    return (
        queue.name,
        queue.serializer,
        getattr(queue, "_default_timeout", None),
        func_key,
        option_key,
        fresh,
        extra,
        options.get("description") is None,
    )


class LeanJob:
    """What one lean build gives: the id, the hash key, the packed fields and the ``Job``."""

    __slots__ = ("id", "key", "fields", "job")

    def __init__(self, job_id: str, key: str, fields: Fields, job: Job) -> None:
        self.id = job_id
        self.key = key
        self.fields = fields
        self.job = job


class LeanTemplate:
    """One verified shape: the static fields (pre-packed) and a prototype ``Job``."""

    def __init__(self, proto: Job, mapping: dict[bytes, bytes], func_name: str) -> None:
        self.func_name = func_name
        self.dumps: Callable[[Any], bytes] = proto.serializer.dumps
        static = [(f, v) for f, v in mapping.items() if f.decode() not in DYNAMIC_FIELDS]
        self.static = b"".join(_item(f) + _item(v) for f, v in static)
        self.static_count = 2 * len(static)
        self.has_description = b"description" in mapping
        self.has_meta = b"meta" in mapping
        state = dict(proto.__dict__)
        for name in ("_id", "_data", "_args", "_kwargs", "meta", "description", "connection"):
            state.pop(name, None)
        self.state = state
        self.copies = [name for name, value in state.items() if isinstance(value, (list, dict))]
        self.job_class = type(proto)
        self.key_prefix = proto.redis_job_namespace_prefix

    def build(
        self,
        job_id: str | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        meta: dict[str, Any],
        description: str | None,
        token: str,
        connection: Any,
        created: datetime | None = None,
        enqueued: datetime | None = None,
        created_text: bytes | None = None,
    ) -> LeanJob:
        """The job for these per-job inputs, on ``connection`` (the queue's: the shape is
        shared by every client of the process); ``created``/``enqueued``: now by default."""
        if created is None:
            created = datetime.now(_utc)
        if enqueued is None:
            enqueued = created
        if job_id is None:
            job_id = new_id()
        func_name = self.func_name
        data = self.dumps((func_name, None, args, kwargs))
        if description is None:
            description = _rq_call_string(func_name, args, kwargs, max_length=75)
        if created_text is None:
            created_text = timestamp(created)
        enqueued_text = created_text if enqueued is created else timestamp(enqueued)
        parts = [
            self.static,
            b"$10\r\ncreated_at\r\n",
            _item(created_text),
            b"$11\r\nenqueued_at\r\n",
            _item(enqueued_text),
            b"$4\r\ndata\r\n",
            _item(_compress(data)),
            b"$12\r\nrqjobs_token\r\n",
            _item(token.encode()),
        ]
        count = self.static_count + 8
        if description is not None:
            parts.append(b"$11\r\ndescription\r\n")
            parts.append(_item(description.encode("utf-8")))
            count += 2
        if meta:
            parts.append(b"$4\r\nmeta\r\n")
            parts.append(_item(self.dumps(meta)))
            count += 2
        state = dict(self.state)
        for name in self.copies:
            state[name] = state[name].copy()
        state["_id"] = job_id
        state["connection"] = connection
        state["_data"] = data
        state["_args"] = args
        state["_kwargs"] = kwargs
        state["meta"] = meta
        state["description"] = description
        state["created_at"] = created
        state["enqueued_at"] = enqueued
        job = self.job_class.__new__(self.job_class)
        job.__dict__ = state
        stats["lean"] += 1
        return LeanJob(job_id, self.key_prefix + job_id, Fields(b"".join(parts), count), job)


def lean_template(key: tuple[Any, ...]) -> LeanTemplate | None | bool:
    """The verified template of a shape; ``None`` when the shape failed its check, ``False``
    when the shape was never calibrated (the caller builds with RQ and calls
    :func:`calibrate`)."""
    try:
        return _templates[key]
    except KeyError:
        return False


def calibrate(
    key: tuple[Any, ...],
    job: Job,
    rq_fields: Fields,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    description: str | None,
    token: str,
) -> None:
    """Compare the lean build of ``job``'s inputs with RQ's fields ``rq_fields``; remember
    the shape as lean (all fields equal) or as RQ-only."""
    template: LeanTemplate | None = None
    try:
        mapping = unpack_fields(rq_fields)
        func_name = job.func_name
        if _rq_call_string is not None and isinstance(func_name, str) and job.instance is None:
            candidate = LeanTemplate(job, mapping, func_name)
            built = candidate.build(
                job.id,
                args,
                kwargs,
                job.meta,
                description,
                token,
                job.connection,
                created=job.created_at,
                enqueued=job.enqueued_at,
            )
            if unpack_fields(built.fields) == mapping:
                template = candidate
    except Exception:  # noqa: BLE001 - anything unexpected: this shape stays on RQ's path
        template = None
    with _lock:
        if len(_templates) >= _MAX_SHAPES:
            _templates.clear()
        _templates[key] = template
    stats["calibrated" if template is not None else "mismatch"] += 1


def reset() -> None:
    """Forget every shape (tests; a changed RQ would be re-checked)."""
    with _lock:
        _templates.clear()
    for hook in _reset_hooks:
        hook()


_reset_hooks: list[Callable[[], None]] = []


def on_reset(hook: Callable[[], None]) -> None:
    """Run ``hook()`` when :func:`reset` forgets the shapes (what was built from them)."""
    _reset_hooks.append(hook)
