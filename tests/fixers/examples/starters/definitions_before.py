# fix-options: --deprecate-definitions
import threading
import time


def start_reminder_scheduler(app, interval=60):
    """Start the in-process reminder loop (legacy)."""
    thread = threading.Thread(target=_loop, args=(app, interval), daemon=True)
    thread.start()
    return thread


def _loop(app, interval):
    while True:
        time.sleep(interval)


def start_worker():
    return None
