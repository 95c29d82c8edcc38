"""The one idempotent WATCH/MULTI loop, for the enqueue paths that must run RQ's own code.

``enqueue`` with ``depends_on`` and ``enqueue_with_dedupe`` with ``depends_on`` let
``rq.Queue.enqueue(pipeline=...)`` queue its writes inside a MULTI/EXEC. The call's token
goes into the job hash in the same EXEC. When redis-py re-sends an EXEC whose reply was
lost, the WATCHed hash has changed, so the re-send fails with ``WatchError``: the loop starts
over, finds the token (:func:`own_job`) and returns the job instead of enqueueing it again.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar

from redis.exceptions import WatchError
from rq import Queue
from rq.job import Job

from .replies import text_or_none
from .scripts import TOKEN_FIELD

__all__ = ["Restart", "watched", "own_job"]

T = TypeVar("T")


class Restart(Exception):
    """Raised by a :func:`watched` body to WATCH and decide again (after it changed state)."""


def watched(connection: Any, keys: list[str], body: Callable[[Any], T]) -> T:
    """``WATCH keys``, then ``body(pipe)``; start over on ``WatchError`` or :class:`Restart`.

    ``body`` reads through ``pipe`` (immediate mode), then calls ``pipe.multi()``, queues its
    writes and ``pipe.execute()``; or ``pipe.unwatch()`` and returns without writing.
    """
    with connection.pipeline() as pipe:
        while True:
            try:
                pipe.watch(*keys)
                return body(pipe)
            except (WatchError, Restart):
                pipe.reset()


def own_job(pipe: Any, job_id: str, token: str, queue: Queue) -> Optional[Job]:
    """The job, when this call's token is already in its hash (a re-send that succeeded);
    the WATCH is then released. ``None`` otherwise."""
    if text_or_none(pipe.hget(Job.key_for(job_id), TOKEN_FIELD)) != token:
        return None
    pipe.unwatch()
    return Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
