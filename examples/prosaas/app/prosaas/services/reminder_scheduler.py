"""Reminder scheduler (deprecated): reminders are a periodic job of the scheduler service now.

``start_reminder_scheduler()`` used to start a thread in every web process; it now raises, so a
forgotten call fails loudly instead of starting a second scheduler. See ``prosaas.schedule``.
"""

from __future__ import annotations

from rqjobs import deprecated_starter


@deprecated_starter
def start_reminder_scheduler():
    """Start the reminder thread (deprecated: reminders are in ``prosaas.schedule``)."""
