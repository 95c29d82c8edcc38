"""Reminder scheduler: every minute, queue the job that sends the reminders that are due.

Runs in a background thread of every web process; a Redis lock makes sure only one
process queues the job each minute.
"""

from __future__ import annotations

import logging
import threading
import time

from rq import Queue

from prosaas.config import redis_client
from prosaas.tasks import send_due_reminders_job
from prosaas.utils.locks import acquire_lock, release_lock

log = logging.getLogger(__name__)

LOCK_KEY = "prosaas:reminder-scheduler-lock"


def _reminder_loop() -> None:
    while True:
        if acquire_lock(redis_client, LOCK_KEY, ttl=90):
            try:
                Queue("reminders", connection=redis_client).enqueue(send_due_reminders_job)
                log.info("Queued due reminders")
            finally:
                release_lock(redis_client, LOCK_KEY)
        time.sleep(60)


def start_reminder_scheduler() -> threading.Thread:
    thread = threading.Thread(target=_reminder_loop, name="reminder-scheduler", daemon=True)
    thread.start()
    return thread
