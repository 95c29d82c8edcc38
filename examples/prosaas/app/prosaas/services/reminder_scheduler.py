"""Reminder scheduler (deprecated): reminders are a periodic job of the scheduler service now.

``start_reminder_scheduler()`` used to start a thread in every web process that queued the
reminder job every minute under a hand-released lock. The job is now an entry of
``prosaas.schedule.SCHEDULE``, run by ``rqjobs scheduler`` (``SERVICE_ROLE=scheduler``); the
starter stays for old callers and raises, so a forgotten call fails loudly instead of starting
a second scheduler.
"""

from __future__ import annotations


def start_reminder_scheduler() -> None:
    raise RuntimeError("Deprecated - use scheduler service")
