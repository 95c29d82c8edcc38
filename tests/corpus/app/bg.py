"""Legacy in-process schedulers (definitions are not flagged, calls are)."""

import time

from app import tasks


def start_reminder_scheduler(app):
    while True:
        tasks.send_reminders()
        time.sleep(60)


def _start_cleanup_scheduler():
    while True:
        time.sleep(3600)


def start_worker():
    pass
