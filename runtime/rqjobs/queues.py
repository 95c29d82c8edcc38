"""Cached RQ queues (and workers) on the shared connection, with one serializer.

``RQJOBS_QUEUES=default,high,webhooks`` turns on an allow-list: :func:`get_queue` with any
other name raises, so a typo cannot create a queue that no worker reads.

``RQJOBS_SERIALIZER=json`` makes every queue and worker built here use RQ's
``JSONSerializer`` instead of pickle. Trade-off: with pickle anyone who can write to Redis
can make a worker run arbitrary code when it loads the job; JSON closes that hole, but job
arguments, ``meta`` and results must then be JSON types (no datetimes, sets or objects),
and producers and workers must agree on the setting, because a job written with one
serializer cannot be read with the other.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from rq import Queue
from rq.serializers import DefaultSerializer, JSONSerializer

from . import settings
from .connection import get_redis, on_reset
from .errors import UnknownQueueError

__all__ = ["get_queue", "get_serializer", "get_worker", "check_queue_name"]

_lock = threading.Lock()
_queues: dict[tuple[Any, ...], Queue] = {}
# The settings a queue depends on -> the queue, so a hot path pays one dict lookup.
_by_environment: dict[tuple[Any, ...], Queue] = {}


def _clear() -> None:
    global _lock
    _lock = threading.Lock()
    _queues.clear()
    _by_environment.clear()


on_reset(_clear)


def get_serializer() -> Any:
    """The serializer class every queue and worker made by ``rqjobs`` uses.

    RQ's ``DefaultSerializer`` (pickle) unless ``RQJOBS_SERIALIZER=json``, then RQ's
    ``JSONSerializer``.
    """
    return JSONSerializer if settings.serializer_name() == "json" else DefaultSerializer


def check_queue_name(name: str) -> str:
    """``name`` if it is a usable queue name under ``RQJOBS_QUEUES``; raises otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownQueueError(f"queue name must be a non-empty string, got {name!r}")
    allowed = settings.allowed_queues()
    if allowed is not None and name not in allowed:
        raise UnknownQueueError(
            f"unknown queue {name!r}: RQJOBS_QUEUES allows only "
            f"{', '.join(repr(n) for n in allowed)}"
        )
    return name


def get_queue(name: str = "default") -> Queue:
    """See :func:`_get_queue`; this is the cached fast path (one dict lookup per call)."""
    key = (name, settings.queue_environment(), os.getpid())
    queue = _by_environment.get(key)
    if queue is None:
        queue = _get_queue(name)
        _by_environment[key] = queue
    return queue


def _get_queue(name: str) -> Queue:
    """The cached ``rq.Queue`` called ``name`` on :func:`rqjobs.get_redis`'s connection.

    Nothing is written to Redis here; RQ registers the queue (``SADD rq:queues``) on the
    first enqueue. Raises :class:`rqjobs.errors.UnknownQueueError` (a ``ValueError``) when
    ``RQJOBS_QUEUES`` is set and does not list ``name``.
    """
    check_queue_name(name)
    connection = get_redis()
    serializer = get_serializer()
    key = (os.getpid(), id(connection), name, serializer)
    queue = _queues.get(key)
    if queue is None:
        with _lock:
            queue = _queues.get(key)
            if queue is None:
                queue = Queue(name, connection=connection, serializer=serializer)
                _queues[key] = queue
    return queue


def get_worker(queues: Sequence[str] | None = None, **kwargs: Any) -> Any:
    """An :class:`rqjobs.worker.RqjobsWorker` (an ``rq.Worker`` whose running jobs beat) for
    ``queues`` (default: the allow-list, or ``["default"]``).

    It uses the shared connection and the configured serializer; ``kwargs`` go to the
    worker class (``worker_class=`` picks another ``rq.Worker`` subclass).
    """
    from .worker import RqjobsWorker

    worker_class = kwargs.pop("worker_class", None) or RqjobsWorker
    queue_class = kwargs.get("queue_class")
    if queues is None:
        queues = settings.allowed_queues() or ("default",)
    kwargs.setdefault("connection", get_redis())
    kwargs.setdefault("serializer", get_serializer())
    if queue_class is None:
        queue_objects = [get_queue(name) for name in queues]
    else:
        queue_objects = [
            queue_class(
                check_queue_name(name),
                connection=kwargs["connection"],
                serializer=kwargs["serializer"],
            )
            for name in queues
        ]
    return worker_class(queue_objects, **kwargs)
