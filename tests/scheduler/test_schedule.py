"""Schedule declaration: validation names the bad entry; periods are wall-clock slots."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import periodic_app
import pytest
from rqjobs import PeriodicJob, Schedule, ScheduleError
from rqjobs.schedule import load_schedule


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PeriodicJob("zero", periodic_app.noop, every=0), "'zero': every=0 must be"),
        (lambda: PeriodicJob("neg", periodic_app.noop, every=-5), "'neg': every=-5 must be"),
        (
            lambda: PeriodicJob("negtd", periodic_app.noop, every=timedelta(seconds=-1)),
            "'negtd'",
        ),
        (lambda: PeriodicJob("nan", periodic_app.noop, every=float("nan")), "'nan'"),
        (lambda: PeriodicJob("txt", periodic_app.noop, every="5"), "'txt': every='5' is not"),
        (lambda: PeriodicJob("cr", periodic_app.noop, cron="61 * * * *"), "'cr': cron='61"),
        (lambda: PeriodicJob("cr2", periodic_app.noop, cron="every day"), "'cr2'"),
        (lambda: PeriodicJob("both", periodic_app.noop, every=5, cron="* * * * *"), "'both'"),
        (lambda: PeriodicJob("none", periodic_app.noop), "'none': give exactly one"),
        (lambda: PeriodicJob("", periodic_app.noop, every=5), "''"),
        (lambda: PeriodicJob("a b", periodic_app.noop, every=5), "'a b'"),
        (lambda: PeriodicJob("q", periodic_app.noop, every=5, queue=""), "'q': queue=''"),
        (lambda: PeriodicJob("f", 42, every=5), "'f': func=42"),
        (lambda: PeriodicJob("id", periodic_app.noop, every=5, job_id="x"), "'id': job_id"),
        (
            lambda: Schedule(
                [PeriodicJob("dup", periodic_app.noop, every=5), PeriodicJob("dup", "x.y", every=9)]
            ),
            "'dup': duplicate name",
        ),
    ],
)
def test_bad_entries_fail_with_their_name(build: object, message: str) -> None:
    with pytest.raises(ScheduleError) as info:
        build()  # type: ignore[operator]
    assert message in str(info.value)


def test_unknown_function_fails_at_validation_naming_the_entry() -> None:
    schedule = Schedule([PeriodicJob("ghost", "periodic_app.missing", every=60)])
    expected = r"'ghost': cannot import function 'periodic_app.missing'"
    with pytest.raises(ScheduleError, match=expected):
        schedule.validate()
    with pytest.raises(ScheduleError, match="'nomod'"):
        Schedule([PeriodicJob("nomod", "no_such_module_xyz.f", every=60)]).validate()


def test_interval_shorter_than_tick_is_refused() -> None:
    schedule = Schedule([PeriodicJob("fast", periodic_app.noop, every=5)])
    schedule.validate(tick=5)
    with pytest.raises(ScheduleError, match=r"'fast': every=5s is shorter than the scheduler tick"):
        schedule.validate(tick=15)


def test_cron_firing_faster_than_the_tick_is_refused() -> None:
    Schedule([PeriodicJob("minutely", periodic_app.noop, cron="* * * * *")]).validate(tick=15)
    seconds = Schedule([PeriodicJob("sec", periodic_app.noop, cron="* * * * * */5")])
    with pytest.raises(ScheduleError, match=r"'sec': cron='\* \* \* \* \* \*/5' fires 5s apart"):
        seconds.validate(tick=15)
    seconds.validate(tick=5)


def test_every_periods_are_epoch_aligned() -> None:
    job = PeriodicJob("five", periodic_app.noop, every=timedelta(minutes=5))
    assert job.every == 300
    now = ts("2026-01-01T10:07:30")
    assert job.period_start(now) == ts("2026-01-01T10:05:00")
    assert job.period_start(ts("2026-01-01T10:05:00")) == ts("2026-01-01T10:05:00")
    assert job.previous_period_start(ts("2026-01-01T10:05:00")) == ts("2026-01-01T10:00:00")
    assert job.period_length(ts("2026-01-01T10:05:00")) == 300
    start = ts("2026-01-01T10:05:00")
    assert job.dedupe_key(start) == f"periodic:five:{int(start)}"


def test_cron_periods_in_utc() -> None:
    job = PeriodicJob("nightly", periodic_app.noop, cron="30 3 * * *")
    assert job.period_start(ts("2026-01-02T10:00:00")) == ts("2026-01-02T03:30:00")
    assert job.period_start(ts("2026-01-02T03:30:00")) == ts("2026-01-02T03:30:00")
    assert job.period_start(ts("2026-01-02T03:29:59.500")) == ts("2026-01-01T03:30:00")
    assert job.previous_period_start(ts("2026-01-02T03:30:00")) == ts("2026-01-01T03:30:00")
    assert job.period_length(ts("2026-01-02T03:30:00")) == 86400


def test_load_schedule_errors_are_one_line() -> None:
    assert len(load_schedule("periodic_app:every_second")) == 1
    assert len(load_schedule("periodic_app:many_jobs")) == 400
    for spec, text in [
        ("periodic_app", "expected module:attribute"),
        ("no_such_module_xyz:s", "cannot import 'no_such_module_xyz'"),
        ("periodic_app:nope", "has no 'nope'"),
        ("periodic_app:not_a_schedule", "is not a Schedule (got int)"),
        ("periodic_app:bad_interval", "'zero'"),
        ("periodic_app:bad_cron", "'nightly'"),
        ("periodic_app:duplicate_names", "'same'"),
    ]:
        with pytest.raises(ScheduleError) as info:
            load_schedule(spec)
        assert text in str(info.value)
        assert "\n" not in str(info.value)
