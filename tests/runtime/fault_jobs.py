"""Job functions of ``test_runtime_dedupe_faults.py``; the worker subprocesses import them.

Every side effect goes to Redis (the job's own connection), so that the test process can
count runs across worker restarts and SIGKILLs:

* ``fault:runs`` (hash): ``HINCRBY <event> 1`` when a run starts;
* ``fault:done`` (hash): ``HINCRBY <event> 1`` when a run has done its work;
* ``fault:start:<event>`` / ``fault:end:<event>`` (lists, :func:`work` only): one
  ``<run id>|<pid>|<unix time>`` item per run start and per completed run.
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from typing import Any

from rq import get_current_job

RUNS = "fault:runs"
DONE = "fault:done"
START_PREFIX = "fault:start:"
END_PREFIX = "fault:end:"
SELF_KILL_AT = "fault:self-kill-at"


def _connection() -> Any:
    job = get_current_job()
    assert job is not None
    return job.connection


def _start(event: str) -> int:
    """Count one run of ``event``; the count after this run (1 on the first run)."""
    return int(_connection().hincrby(RUNS, event, 1))


def _done(event: str) -> str:
    _connection().hincrby(DONE, event, 1)
    return event


def work(event: str, min_ms: int = 50, max_ms: int = 300) -> str:
    """Take ``min_ms``..``max_ms`` (random), recording this run's start and end."""
    connection = _connection()
    run_id = uuid.uuid4().hex[:12]
    pid = os.getpid()
    connection.rpush(START_PREFIX + event, f"{run_id}|{pid}|{time.time():.6f}")
    connection.hincrby(RUNS, event, 1)
    time.sleep(random.uniform(min_ms, max_ms) / 1000.0)
    with connection.pipeline(transaction=True) as pipe:
        pipe.rpush(END_PREFIX + event, f"{run_id}|{pid}|{time.time():.6f}")
        pipe.hincrby(DONE, event, 1)
        pipe.execute()
    return event


def record(event: str) -> str:
    """One quick run."""
    _start(event)
    return _done(event)


def kill_own_horse_first(event: str) -> str:
    """First run: SIGKILL the process running the job (the work horse). Later runs: done."""
    if _start(event) == 1:
        _connection().set(SELF_KILL_AT, f"{time.time():.6f}")
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)  # never reached
    return _done(event)


def long_first(event: str, seconds: float = 30.0) -> str:
    """First run: sleep ``seconds`` (the test kills it meanwhile). Later runs: done at once."""
    if _start(event) == 1:
        time.sleep(seconds)
    return _done(event)


def fail_first(event: str) -> str:
    """First run raises; later runs succeed.

    The first run raises just after a whole second (fraction .1): RQ stores a retry's due
    time rounded down to the second, so ``Retry(interval=1)`` then waits about 0.9 s, never
    a few milliseconds, and the test can see the job waiting for its retry.
    """
    if _start(event) == 1:
        time.sleep((1.1 - time.time() % 1.0) % 1.0)
        raise RuntimeError(f"first run of {event} fails on purpose")
    return _done(event)


def always_fail(event: str) -> None:
    """Every run raises."""
    _start(event)
    raise RuntimeError(f"{event} fails on purpose, every time")
