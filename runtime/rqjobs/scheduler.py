"""The periodic scheduler loop: one cycle per wall-clock tick, one winner per cycle.

Every scheduler process (run as many as you like, on any hosts) wakes at each tick boundary
(``cycle = floor(now / tick)``, so all hosts agree on the slots) and tries
``SET rqjobs:scheduler:lock:{cycle} <host:pid:random> NX EX 90``. The winner logs
``Lock acquired for cycle N (holder=...)``, enqueues every periodic job that is due and records
health; the others do nothing until the next tick. Locks are never deleted: they expire. A
crashed holder therefore costs nothing beyond its own cycle: the next tick's key is free.

Redis keys written here:

- ``rqjobs:scheduler:lock:{cycle}`` (string, TTL): the cycle's holder token.
- ``rqjobs:scheduler:last_period`` (hash ``job name -> period start``): the newest period
  enqueued for each job, only ever raised (a Lua max), so a new holder knows what was missed.
- ``rqjobs:scheduler:health`` (hash): ``last_tick`` (ISO 8601 UTC), ``last_tick_ts``,
  ``holder``, ``cycle``, ``tick``, ``lock_key``, ``lock_ttl``; read by
  :func:`rqjobs.health.get_scheduler_health`.
- ``job_lock:periodic:{name}:{period_start}`` via ``enqueue_with_dedupe``: a period is enqueued
  at most once even when two schedulers overlap, clocks are skewed or a cycle overruns.

Missed periods: a holder enqueues the current period and, when the period just before it was
never enqueued (its holder died mid-cycle), that one period too, once. Older gaps are skipped
with a warning instead of being back-filled.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from . import scripts
from .keys import SCHEDULER_HEALTH, SCHEDULER_LAST_PERIOD
from .lock import (
    DEFAULT_LOCK_TTL,
    cycle_lock_key,
    extend_scheduler_lock,
    make_holder_token,
    try_acquire_scheduler_lock,
)
from .replies import text as _text
from .schedule import PeriodicJob, Schedule

__all__ = [
    "DEFAULT_TICK",
    "HEALTH_KEY",
    "LAST_PERIOD_KEY",
    "Scheduler",
    "run_scheduler",
]

logger = logging.getLogger("rqjobs.scheduler")

DEFAULT_TICK = 15.0
HEALTH_KEY = SCHEDULER_HEALTH
LAST_PERIOD_KEY = SCHEDULER_LAST_PERIOD
EXTEND_AT = 0.7  # extend the cycle lock once a cycle has used 70% of its TTL

# KEYS[1] hash; ARGV[1] field; ARGV[2] value. HSET only if the value is higher.
_RAISE_PERIOD = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (not current) or tonumber(current) < tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return 1
end
return 0
"""


def iso_utc(ts: float) -> str:
    """``2026-01-02T03:04:05.678Z``."""
    stamp = datetime.fromtimestamp(ts, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class Scheduler:
    """Runs a :class:`Schedule`; see the module docstring for what it does in Redis.

    ``connection`` defaults to ``rqjobs.get_redis()``; ``enqueue`` to
    ``rqjobs.enqueue_with_dedupe`` (both resolved at first use).
    """

    def __init__(
        self,
        schedule: Schedule,
        *,
        tick: float = DEFAULT_TICK,
        lock_ttl: int = DEFAULT_LOCK_TTL,
        connection: Any = None,
        enqueue: Optional[Callable[..., Any]] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (isinstance(tick, (int, float)) and math.isfinite(tick) and tick > 0):
            raise ValueError(f"tick must be a positive number of seconds, got {tick!r}")
        if lock_ttl < tick:
            raise ValueError(f"lock_ttl ({lock_ttl}s) must be at least one tick ({tick:g}s)")
        schedule.validate(tick)
        _check_queues(schedule)
        self.schedule = schedule
        self.tick = float(tick)
        self.lock_ttl = int(lock_ttl)
        self.holder = make_holder_token()
        self._connection = connection
        self._enqueue = enqueue
        self._clock = clock
        self._funcs = {job.name: job.resolve() for job in schedule}
        self._stop_requested = False

    # -- wiring ----------------------------------------------------------------------------

    @property
    def connection(self) -> Any:
        if self._connection is None:
            from .connection import get_redis

            self._connection = get_redis()
        return self._connection

    @property
    def enqueue(self) -> Callable[..., Any]:
        if self._enqueue is None:
            import rqjobs

            self._enqueue = rqjobs.enqueue_with_dedupe
        return self._enqueue

    def cycle_of(self, ts: float) -> int:
        return int(math.floor(ts / self.tick))

    # -- one cycle -------------------------------------------------------------------------

    def run_cycle(self, now: Optional[float] = None) -> bool:
        """Try to win the current cycle; if won, enqueue what is due and record health.

        Returns ``True`` when this process held the cycle's lock.
        """
        now = self._clock() if now is None else now
        cycle = self.cycle_of(now)
        key = cycle_lock_key(cycle)
        conn = self.connection
        token = try_acquire_scheduler_lock(conn, key, self.lock_ttl, token=self.holder)
        if token is None:
            logger.debug("Cycle %d is held by another scheduler", cycle)
            return False
        started = time.monotonic()
        logger.info("Lock acquired for cycle %d (holder=%s)", cycle, self.holder)
        last_periods = {
            _text(name): float(_text(value))
            for name, value in conn.hgetall(LAST_PERIOD_KEY).items()
        }
        extended = False
        for job in self.schedule:
            if not extended and time.monotonic() - started > EXTEND_AT * self.lock_ttl:
                extended = True
                if extend_scheduler_lock(conn, key, self.holder, self.lock_ttl):
                    logger.info("Extended lock for cycle %d by %ds", cycle, self.lock_ttl)
                else:
                    logger.warning("Lock for cycle %d expired while the cycle ran", cycle)
            try:
                self._run_job(job, now, last_periods.get(job.name))
            except Exception as exc:  # noqa: BLE001 - one bad job must not stop the others
                if _is_connection_error(exc):
                    raise
                logger.exception("Periodic job %r failed to enqueue: %s", job.name, exc)
        self._record_health(now, cycle, key)
        return True

    def due_periods(self, job: PeriodicJob, now: float, last: Optional[float]) -> list[float]:
        """Periods of ``job`` to enqueue now, oldest first (at most two).

        - never enqueued before: the current period, if it began within the last tick
          (otherwise the job waits for its next period boundary: nothing is back-filled);
        - the current period, if newer than the last one enqueued;
        - plus the period just before it, if that one was missed too (once).
        """
        current = job.period_start(now)
        if last is None:
            return [current] if now - current < self.tick else []
        if current <= last:
            return []
        previous = job.previous_period_start(current)
        if previous <= last:
            return [current]
        older = job.previous_period_start(previous)
        if older > last:
            logger.warning(
                "Periodic job %r: skipping missed periods after %s up to %s (no back-fill)",
                job.name,
                iso_utc(last),
                iso_utc(older),
            )
        return [previous, current]

    def _raise_period(self, name: str, period: float) -> None:
        """``last_period[name] = max(last_period[name], period)`` in one script."""
        scripts.run(_RAISE_PERIOD, self.connection, [LAST_PERIOD_KEY], [name, repr(period)])

    def _run_job(self, job: PeriodicJob, now: float, last: Optional[float]) -> None:
        periods = self.due_periods(job, now, last)
        if last is None and not periods:
            # First sight in the middle of a period: remember it so the next one runs.
            self._raise_period(job.name, job.period_start(now))
            logger.info("Periodic job %r first runs at its next period boundary", job.name)
            return
        for period in periods:
            dedupe_key = job.dedupe_key(period)
            ttl = int(math.ceil(2 * job.period_length(period) + 2 * self.tick + 60))
            options = dict(job.job_options)
            meta = dict(options.pop("meta", None) or {})
            meta.update({"periodic_job": job.name, "period_start": period})
            if "ttl" in options:  # RQ's job ttl; ``ttl`` below is the dedupe window
                options["job_ttl"] = options.pop("ttl")
            result = self.enqueue(
                job.queue,
                self._funcs[job.name],
                args=job.args,
                kwargs=job.kwargs,
                dedupe_key=dedupe_key,
                ttl=ttl,
                release_on_failure=False,
                meta=meta,
                **options,
            )
            self._raise_period(job.name, period)
            if result is None:
                logger.info(
                    "Periodic job %r period %s was already enqueued (dedupe_key=%s)",
                    job.name,
                    iso_utc(period),
                    dedupe_key,
                )
            else:
                logger.info(
                    "Enqueued periodic job %r for period %s on %r (job=%s)",
                    job.name,
                    iso_utc(period),
                    job.queue,
                    getattr(result, "id", result),
                )

    def _record_health(self, now: float, cycle: int, key: str) -> None:
        self.connection.hset(
            HEALTH_KEY,
            mapping={
                "last_tick": iso_utc(now),
                "last_tick_ts": repr(now),
                "holder": self.holder,
                "cycle": str(cycle),
                "tick": repr(self.tick),
                "lock_key": key,
                "lock_ttl": str(self.lock_ttl),
            },
        )

    # -- the loop --------------------------------------------------------------------------

    def request_stop(self, signum: Optional[int] = None, frame: Any = None) -> None:
        """Finish the current cycle, then leave :meth:`run` (the SIGTERM/SIGINT handler)."""
        if not self._stop_requested and signum is not None:
            logger.info("Received signal %d: stopping after the current cycle", signum)
        self._stop_requested = True

    def run(self, install_signal_handlers: bool = True, max_cycles: Optional[int] = None) -> int:
        """Tick until stopped. Runs the current cycle at once, then one per tick boundary.

        Returns 0 after SIGTERM/SIGINT (the cycle in progress is finished first).
        Logs dangerous server settings once at start (:meth:`log_server_warnings`).
        A Redis outage is logged and retried at the next tick; it does not end the loop
        (``rqjobs scheduler`` refuses to start when Redis is unreachable at start-up).
        """
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
        logger.info(
            "Scheduler started (holder=%s, tick=%gs, lock ttl=%ds, %d periodic job(s))",
            self.holder,
            self.tick,
            self.lock_ttl,
            len(self.schedule),
        )
        self.log_server_warnings()
        next_cycle: Optional[int] = None
        cycles = 0
        while not self._stop_requested:
            now = self._clock()
            cycle = self.cycle_of(now)
            if next_cycle is None or cycle >= next_cycle:
                try:
                    self.run_cycle(now)
                except Exception as exc:  # noqa: BLE001 - keep ticking through outages
                    logger.error("Cycle %d failed: %s", cycle, _one_line(exc))
                next_cycle = cycle + 1
                cycles += 1
                if max_cycles is not None and cycles >= max_cycles:
                    break
            self._sleep_until(next_cycle * self.tick)
        logger.info("Scheduler stopped (holder=%s)", self.holder)
        return 0

    def log_server_warnings(self) -> None:
        """Log dangerous Redis server settings once (``maxmemory-policy`` not ``noeviction``).

        Called by :meth:`run` at start-up; never raises (an outage is the loop's business).
        """
        from .server_checks import log_server_warnings

        try:
            log_server_warnings(self.connection, logger)
        except Exception as exc:  # noqa: BLE001 - a warning must not stop the scheduler
            logger.debug("Could not check the Redis server settings: %s", _one_line(exc))

    def _sleep_until(self, wake_at: float) -> None:
        while not self._stop_requested:
            remaining = wake_at - self._clock()
            if remaining <= 0:
                return
            time.sleep(min(remaining, 0.2))


def _check_queues(schedule: Schedule) -> None:
    """Every job's queue must pass ``RQJOBS_QUEUES`` now, not fail at each cycle."""
    from .queues import check_queue_name
    from .schedule import ScheduleError

    for job in schedule:
        try:
            check_queue_name(job.queue)
        except ValueError as exc:
            raise ScheduleError(f"periodic job {job.name!r}: {exc}") from None


def _is_connection_error(exc: BaseException) -> bool:
    try:
        import redis
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError))


def _one_line(exc: BaseException) -> str:
    from .connection import redact_url
    from .settings import redis_url

    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    url = redis_url()
    return text.replace(url, redact_url(url))


def run_scheduler(schedule: Schedule, *, tick: float = DEFAULT_TICK, **options: Any) -> int:
    """Build a :class:`Scheduler` and run it until SIGTERM; returns the exit status (0)."""
    return Scheduler(schedule, tick=tick, **options).run()
