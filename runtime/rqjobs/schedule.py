"""Declarative periodic jobs: ``PeriodicJob`` entries collected in a ``Schedule``.

A periodic job runs once per *period*. A period is a wall-clock slot in UTC:

- ``every=300`` (seconds or a ``timedelta``): slots aligned to the Unix epoch, so every host
  computes the same slots (00:00, 00:05, 00:10, ... for five minutes);
- ``cron="*/5 * * * *"``: the slot starts at a cron fire time (evaluated in UTC by croniter)
  and lasts until the next one.

The scheduler (``rqjobs.scheduler``) enqueues each period through ``enqueue_with_dedupe`` with
the key ``periodic:{name}:{period_start}``, so a period is enqueued at most once cluster-wide.

Nothing here talks to Redis; a bad entry raises ``ScheduleError`` naming the entry, at the
moment the schedule is built or validated (that is, at scheduler start-up).
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, Union

from croniter import croniter

__all__ = ["PeriodicJob", "Schedule", "ScheduleError", "load_schedule"]

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class ScheduleError(ValueError):
    """A schedule entry is invalid. The message names the entry."""


def _resolve_callable(path: str) -> Callable[..., Any]:
    """Import ``package.module.func`` (or ``package.module:func``)."""
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{path!r} is not a dotted path to a function")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ImportError(f"{path!r} is not callable")
    return obj  # type: ignore[no-any-return]


class PeriodicJob:
    """One periodic job: what to enqueue, on which queue, and how often.

    ``func`` is a callable or a dotted path (``"app.tasks.cleanup"``); a path is imported when
    the entry is validated, so a typo fails at start-up, not at the first run. Exactly one of
    ``every`` (seconds or ``timedelta``, > 0) and ``cron`` (a 5- or 6-field expression in UTC)
    is required. ``args``/``kwargs`` go to the function; any other keyword (``job_timeout``,
    ``result_ttl``, ``failure_ttl``, ``meta``, ``description``, ...) goes to ``enqueue``.
    """

    def __init__(
        self,
        name: str,
        func: Union[str, Callable[..., Any]],
        *,
        every: Union[float, timedelta, None] = None,
        cron: Optional[str] = None,
        queue: str = "default",
        args: Sequence[Any] = (),
        kwargs: Optional[Mapping[str, Any]] = None,
        **job_options: Any,
    ) -> None:
        self.name = name
        self.func = func
        self.queue = queue
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.job_options = job_options
        self.every: Optional[float] = None
        self.cron = cron
        self._check(every)

    # -- validation ------------------------------------------------------------------------

    def _error(self, message: str) -> ScheduleError:
        return ScheduleError(f"periodic job {self.name!r}: {message}")

    def _check(self, every: Union[float, timedelta, None]) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ScheduleError(
                f"periodic job {self.name!r}: the name must be a non-empty string of letters, "
                "digits, '_', '-' or '.' (it becomes part of the dedupe key)"
            )
        if (every is None) == (self.cron is None):
            raise self._error("give exactly one of every= (seconds) or cron= (expression)")
        if every is not None:
            seconds = every.total_seconds() if isinstance(every, timedelta) else every
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise self._error(f"every={every!r} is not a number of seconds or a timedelta")
            if not math.isfinite(seconds) or seconds <= 0:
                raise self._error(f"every={every!r} must be a positive interval")
            self.every = float(seconds)
        else:
            if not isinstance(self.cron, str) or not croniter.is_valid(self.cron):
                raise self._error(f"cron={self.cron!r} is not a valid cron expression")
        if not isinstance(self.queue, str) or not self.queue.strip():
            raise self._error(f"queue={self.queue!r} is not a queue name")
        if not isinstance(self.func, str) and not callable(self.func):
            raise self._error(f"func={self.func!r} is neither callable nor a dotted path")
        reserved = {"job_id", "depends_on", "dedupe_key"} & set(self.job_options)
        if reserved:
            raise self._error(
                f"{', '.join(sorted(reserved))} cannot be set on a periodic job "
                "(the scheduler derives the job id from the period)"
            )

    def resolve(self) -> Callable[..., Any]:
        """The callable to enqueue; imports a dotted path. Raises ``ScheduleError``."""
        if callable(self.func):
            return self.func
        try:
            return _resolve_callable(self.func)
        except (ImportError, AttributeError, ValueError) as exc:
            raise self._error(f"cannot import function {self.func!r} ({exc})") from None

    def validate(self, tick: Optional[float] = None) -> None:
        """Check everything, including that the function imports and, when ``tick`` is given,
        that the job does not run more often than the scheduler ticks."""
        self.resolve()
        if tick is not None and self.every is not None and self.every < tick:
            raise self._error(
                f"every={self.every:g}s is shorter than the scheduler tick ({tick:g}s); "
                "a period would be skipped"
            )
        if tick is not None and self.cron is not None:
            shortest = self._shortest_cron_period()
            if shortest < tick:
                raise self._error(
                    f"cron={self.cron!r} fires {shortest:g}s apart, more often than the "
                    f"scheduler tick ({tick:g}s); a period would be skipped"
                )

    def _shortest_cron_period(self, samples: int = 64) -> float:
        assert self.cron is not None
        fires = croniter(self.cron, datetime.now(tz=timezone.utc))
        times = [float(fires.get_next(float)) for _ in range(samples)]
        return min(later - earlier for earlier, later in zip(times, times[1:]))

    # -- periods ---------------------------------------------------------------------------

    def period_start(self, now: float) -> float:
        """Start (epoch seconds, UTC) of the period that contains ``now``."""
        if self.every is not None:
            return math.floor(now / self.every) * self.every
        assert self.cron is not None
        # Fire times have whole-second resolution; start one second later so that a fire
        # time equal to ``now`` counts as the start of the current period.
        base = datetime.fromtimestamp(math.floor(now) + 1, tz=timezone.utc)
        return float(croniter(self.cron, base).get_prev(float))

    def previous_period_start(self, period_start: float) -> float:
        """Start of the period just before the one that starts at ``period_start``."""
        if self.every is not None:
            return period_start - self.every
        assert self.cron is not None
        base = datetime.fromtimestamp(period_start, tz=timezone.utc)
        return float(croniter(self.cron, base).get_prev(float))

    def period_length(self, period_start: float) -> float:
        """Length in seconds of the period that starts at ``period_start``."""
        if self.every is not None:
            return self.every
        assert self.cron is not None
        base = datetime.fromtimestamp(period_start, tz=timezone.utc)
        return float(croniter(self.cron, base).get_next(float)) - period_start

    def dedupe_key(self, period_start: float) -> str:
        """``periodic:{name}:{period_start}`` (whole seconds when the start is whole)."""
        return f"periodic:{self.name}:{_format_start(period_start)}"

    def __repr__(self) -> str:
        when = f"every={self.every:g}" if self.every is not None else f"cron={self.cron!r}"
        return f"PeriodicJob({self.name!r}, {when}, queue={self.queue!r})"


def _format_start(start: float) -> str:
    return str(int(start)) if float(start).is_integer() else f"{start:.3f}"


class Schedule:
    """An ordered collection of ``PeriodicJob`` entries with unique names.

    ``Schedule([PeriodicJob(...), ...])`` or ``schedule.add(...)`` with the same arguments
    as ``PeriodicJob``; a duplicate name raises ``ScheduleError``.
    """

    def __init__(self, jobs: Iterable[PeriodicJob] = ()) -> None:
        self._jobs: dict[str, PeriodicJob] = {}
        for job in jobs:
            self.add_job(job)

    def add_job(self, job: PeriodicJob) -> PeriodicJob:
        if not isinstance(job, PeriodicJob):
            raise ScheduleError(f"schedule entry {job!r} is not a PeriodicJob")
        if job.name in self._jobs:
            raise ScheduleError(f"periodic job {job.name!r}: duplicate name in the schedule")
        self._jobs[job.name] = job
        return job

    def add(self, name: str, func: Union[str, Callable[..., Any]], **options: Any) -> PeriodicJob:
        """Build a ``PeriodicJob`` from the same arguments and add it."""
        return self.add_job(PeriodicJob(name, func, **options))

    def validate(self, tick: Optional[float] = None) -> None:
        """Validate every entry (imports dotted paths); raises ``ScheduleError`` naming it."""
        for job in self._jobs.values():
            job.validate(tick)

    def __iter__(self) -> Iterator[PeriodicJob]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def __getitem__(self, name: str) -> PeriodicJob:
        return self._jobs[name]

    def __repr__(self) -> str:
        return f"Schedule({list(self._jobs.values())!r})"


def load_schedule(spec: str) -> Schedule:
    """Import ``module:attribute`` and return it as a ``Schedule``.

    The attribute may be a ``Schedule``, a list/tuple of ``PeriodicJob``, or a callable that
    returns either. Raises ``ScheduleError`` with a one-line message.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ScheduleError(f"--schedule {spec!r}: expected module:attribute")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import-time error is a bad schedule
        raise ScheduleError(f"--schedule {spec!r}: cannot import {module_name!r} ({exc})") from None
    obj: Any = module
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ScheduleError(f"--schedule {spec!r}: {module_name} has no {attr!r}") from None
    if callable(obj) and not isinstance(obj, Schedule):
        obj = obj()
    if isinstance(obj, Schedule):
        return obj
    if isinstance(obj, (list, tuple)):
        return Schedule(obj)
    raise ScheduleError(
        f"--schedule {spec!r}: {attr} is not a Schedule (got {type(obj).__name__})"
    )
