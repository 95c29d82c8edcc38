# fix-options: --deprecate-definitions
import threading

import rqjobs
from rqjobs import deprecated_starter


@deprecated_starter
def start_reminder_scheduler(app):
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    return thread


@rqjobs.deprecated_starter(replacement="the scheduler service (rqjobs scheduler)")
def start_digest_scheduler(app):
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()


@deprecated_starter(replacement="rqjobs scheduler")
def start_sync_scheduler():
    """Kept for old callers."""
    threading.Thread(target=print).start()


def start_cleanup_scheduler():
    """Deprecated: the scheduler service runs the cleanup now."""
    raise RuntimeError('Deprecated - use scheduler service')


def start_export_scheduler():
    raise RuntimeError("Deprecated - use scheduler service")  # kept for old callers


def start_backup_scheduler(app):
    raise RuntimeError(
        "Deprecated - use scheduler service"
    )
