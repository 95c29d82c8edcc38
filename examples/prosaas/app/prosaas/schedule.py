"""Periodic jobs, run by the scheduler service.

Started as ``rqjobs scheduler --schedule prosaas.schedule:SCHEDULE`` (``SERVICE_ROLE=scheduler``).

This replaces the reminder thread that every web process used to start: the scheduler takes
a TTL-only lock per cycle, so exactly one scheduler enqueues each period and a standby takes
over within one tick when the holder dies. Intervals can be shortened for tests and demos
with ``PROSAAS_REMINDER_EVERY`` (seconds).
"""

from __future__ import annotations

import os

from rqjobs import PeriodicJob, Schedule

SCHEDULE = Schedule(
    [
        PeriodicJob(
            "send-due-reminders",
            "prosaas.tasks.send_due_reminders_job",
            every=int(os.getenv("PROSAAS_REMINDER_EVERY", "60")),
            queue="reminders",
        ),
        PeriodicJob(
            "expire-stale-sessions",
            "prosaas.tasks.expire_stale_sessions_job",
            cron="*/5 * * * *",
            queue="default",
        ),
    ]
)
