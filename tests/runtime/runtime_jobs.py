"""Job functions the runtime tests enqueue; real RQ workers import them (``-P tests/runtime``).

Side effects go to Redis so that the test process can count executions across processes.
"""

from __future__ import annotations

from typing import Any

from rq import get_current_job

RUNS_KEY = "rqjobs-test:runs"
USER_CALLBACK_KEY = "rqjobs-test:user-callback"
FORK_KEY = "rqjobs-test:fork"


def record(event_id: str) -> str:
    """Count one execution of ``event_id`` (``HINCRBY rqjobs-test:runs <event_id> 1``)."""
    job = get_current_job()
    assert job is not None
    job.connection.hincrby(RUNS_KEY, event_id, 1)
    return event_id


def fail(event_id: str) -> None:
    """Count the execution, then raise."""
    record(event_id)
    raise RuntimeError(f"job for {event_id} failed on purpose")


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Record the arguments as the job saw them and return them."""
    job = get_current_job()
    assert job is not None
    job.connection.hincrby(RUNS_KEY, repr((args, sorted(kwargs.items()))), 1)
    return {"args": list(args), "kwargs": kwargs}


def use_rqjobs_connection(marker: str) -> int:
    """Run inside the work horse (a forked child): use ``rqjobs.get_redis()`` there."""
    import os

    import rqjobs

    client = rqjobs.get_redis()
    client.hset(FORK_KEY, marker, os.getpid())
    return os.getpid()


def user_on_failure(job: Any, connection: Any, *exc_info: Any) -> None:
    """A caller's own failure callback: counts its calls."""
    connection.incr(USER_CALLBACK_KEY)


from rqjobs import event_job  # noqa: E402 - after the plain jobs on purpose


@event_job(key="webhook:test:{message_id}", queue="webhooks", ttl=300)
def handle_message(message_id: str, payload: dict[str, Any] | None = None) -> str:
    """An event job as an app declares it: counts its runs per message id."""
    return record(message_id)
