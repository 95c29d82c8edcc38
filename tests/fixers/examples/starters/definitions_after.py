# fix-options: --deprecate-definitions
import time


def start_reminder_scheduler(app, interval=60):
    """Start the in-process reminder loop (legacy)."""
    raise RuntimeError("Deprecated - use scheduler service")


def _loop(app, interval):
    while True:
        time.sleep(interval)


def start_worker():
    return None
