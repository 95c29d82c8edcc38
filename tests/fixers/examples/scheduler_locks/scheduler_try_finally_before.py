import time

from app.locks import acquire_lock, release_lock
from app.tasks import send_due_reminders


def run_scheduler(redis_client):
    while True:
        if acquire_lock(redis_client, "reminders", ttl=30):
            try:  # one scheduler at a time
                send_due_reminders()
            finally:
                # give the lock back
                release_lock(redis_client, "reminders")
        time.sleep(60)


def run_digest_scheduler(redis_client, log):
    while True:
        if acquire_lock(redis_client, "digest", ttl=30):
            try:
                send_due_reminders()
            except Exception:
                log.exception("digest failed")
            finally:
                release_lock(redis_client, "digest")
                log.info("digest tick done")
        time.sleep(30)
