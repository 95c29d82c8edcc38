"""The in-process cleanup scheduler (a thread in the web process)."""

import os
import threading
import time

from redis import Redis
from rq import Queue

from legacyapp.locks import acquire_lock, release_lock
from legacyapp.tasks import cleanup_job

LOCK_KEY = "sample:cleanup-lock"
conn = Redis.from_url(os.getenv("REDIS_URL"))


def scheduler_tick():
    if acquire_lock(conn, LOCK_KEY, ttl=30):
        try:
            Queue("maintenance", connection=conn).enqueue(cleanup_job)
        finally:
            release_lock(conn, LOCK_KEY)


def _cleanup_loop():
    while True:
        scheduler_tick()
        time.sleep(60)


def start_cleanup_scheduler(app):
    thread = threading.Thread(target=_cleanup_loop, daemon=True)
    thread.start()
    return thread
