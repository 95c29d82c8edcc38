"""``RqjobsWorker``: an ``rq.Worker`` whose running jobs beat, so a dead one is known quickly.

While a job runs, the work horse (and the worker, in its monitoring loop) refresh
``rqjobs:alive:<job id>`` (``SET ... PX 2 x RQJOBS_HEARTBEAT_INTERVAL``), and the job hash
records which worker beats for it (field ``rqjobs_beat`` = the worker's name). For
:func:`rqjobs.enqueue_with_dedupe` a ``started`` job beaten for by an rqjobs worker holds its
event only while that key exists: when the worker and its horse are SIGKILLed, the event is
free again two heartbeat intervals later (10 s by default), instead of after RQ's own
abandoned-job cleanup (heartbeat TTL plus 60 s, found by a cleanup that runs every 10
minutes). Jobs run by a plain ``rq worker`` fall back to RQ's execution registry.

The beat runs in a thread of the work horse, so it stops exactly when the horse dies; the
worker's monitoring loop refreshes the same key, so a horse stuck in C code that holds the
GIL is still seen alive while its worker is. The worker's ``job_monitoring_interval``
defaults to the heartbeat interval.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from rq import Worker

from . import settings
from .keys import ALIVE_PREFIX

__all__ = ["RqjobsWorker", "ALIVE_PREFIX", "BEAT_FIELD"]

log = logging.getLogger("rqjobs.worker")

BEAT_FIELD = "rqjobs_beat"


def _alive_ms() -> int:
    return int(math.ceil(2 * settings.heartbeat_interval() * 1000))


class _JobBeat:
    """A daemon thread that refreshes ``rqjobs:alive:<id>`` every heartbeat interval."""

    def __init__(self, connection: Any, job: Any, worker_name: str) -> None:
        self.connection = connection
        self.job_id = job.id
        self.job_key = job.key
        self.worker_name = worker_name
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"rqjobs-beat-{job.id}", daemon=True)

    def start(self) -> None:
        """First beat in the caller's thread (before the job is marked started), then the thread."""
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.set(ALIVE_PREFIX + self.job_id, self.worker_name, px=_alive_ms())
            pipe.hset(self.job_key, BEAT_FIELD, self.worker_name)
            pipe.execute()
        self.thread.start()

    def _run(self) -> None:
        interval = settings.heartbeat_interval()
        while not self.stopped.wait(interval):
            try:
                beat(self.connection, self.job_id, self.worker_name)
            except Exception:  # noqa: BLE001 - a missed beat must never fail the job
                log.warning("Could not refresh the heartbeat of job %s", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=1)


def beat(connection: Any, job_id: str, worker_name: str) -> None:
    """One beat: ``SET rqjobs:alive:<job id> <worker> PX <2 heartbeat intervals>``."""
    connection.set(ALIVE_PREFIX + job_id, worker_name, px=_alive_ms())


class RqjobsWorker(Worker):
    """``rq.Worker`` plus job liveness beats (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "job_monitoring_interval", max(1, int(round(settings.heartbeat_interval())))
        )
        super().__init__(*args, **kwargs)

    def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
        """Runs in the work horse: beat for the job while RQ performs it."""
        pulse = _JobBeat(self.connection, job, self.name)
        try:
            pulse.start()
        except Exception:  # noqa: BLE001 - RQ's own registry still tells a live job
            log.warning("Could not start the heartbeat of job %s", job.id, exc_info=True)
        try:
            return bool(super().perform_job(job, queue, *args, **kwargs))
        finally:
            pulse.stop()

    def maintain_heartbeats(self, job: Any, *args: Any, **kwargs: Any) -> None:
        """Runs in the worker while its horse works: RQ's heartbeats plus ours."""
        super().maintain_heartbeats(job, *args, **kwargs)
        try:
            beat(self.connection, job.id, self.name)
        except Exception:  # noqa: BLE001 - the horse's own beat still runs
            log.warning("Could not refresh the heartbeat of job %s", job.id, exc_info=True)
