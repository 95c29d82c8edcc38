"""Schedules and job functions that the scheduler tests run in real subprocesses.

Importable as ``periodic_app`` (the tests put this folder on ``PYTHONPATH``).
"""

from __future__ import annotations

from rqjobs import PeriodicJob, Schedule


def noop(*args: object, **kwargs: object) -> None:
    """A job that does nothing."""


def fail() -> None:
    """A job that always fails."""
    raise RuntimeError("this job fails on purpose")


# One job per tick, for the failover tests (tick 1 s and tick 15 s).
every_second = Schedule([PeriodicJob("beat", "periodic_app.noop", every=1)])
every_15s = Schedule([PeriodicJob("beat15", "periodic_app.noop", every=15)])
every_2s = Schedule(
    [
        PeriodicJob("two", noop, every=2, queue="periodic"),
        PeriodicJob("cron", noop, cron="* * * * *", queue="periodic"),
    ]
)


# Bad schedules: built when the scheduler loads them, so each fails at start-up.
def bad_interval() -> Schedule:
    return Schedule([PeriodicJob("zero", noop, every=0)])


def bad_cron() -> Schedule:
    return Schedule([PeriodicJob("nightly", noop, cron="61 * * * *")])


def bad_function() -> Schedule:
    return Schedule([PeriodicJob("ghost", "periodic_app.does_not_exist", every=60)])


def duplicate_names() -> Schedule:
    return Schedule([PeriodicJob("same", noop, every=60), PeriodicJob("same", noop, every=120)])


not_a_schedule = 42


# Many jobs, so that one cycle takes long enough to be interrupted by SIGTERM.
many_jobs = Schedule([PeriodicJob(f"job{i:03d}", noop, every=1) for i in range(400)])
