import time

from app.locks import acquire_lock
from app.tasks import send_due_reminders


def run_scheduler(redis_client):
    while True:
        if acquire_lock(redis_client, "reminders", ttl=30):
            # one scheduler at a time
            send_due_reminders()
            # give the lock back
        time.sleep(15)


def run_digest_scheduler(redis_client, log):
    while True:
        if acquire_lock(redis_client, "digest", ttl=30):
            try:
                send_due_reminders()
            except Exception:
                log.exception("digest failed")
            finally:
                log.info("digest tick done")
        time.sleep(15)
