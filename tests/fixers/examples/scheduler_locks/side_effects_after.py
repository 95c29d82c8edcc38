import time

from app.audit import audit
from app.locks import acquire_lock, release_lock
from app.tasks import send_due_reminders


def run_scheduler(redis_client):
    while True:
        if acquire_lock(redis_client, "reminders", ttl=30):
            try:
                send_due_reminders()
            finally:
                # The audit record is written by the release's argument: it must stay.
                release_lock(redis_client, audit("reminders"))  # manual: RQJ200
        time.sleep(15)


def run_digest_scheduler(redis_client):
    while True:
        if acquire_lock(redis_client, "digest", ttl=30):
            send_due_reminders()
        time.sleep(15)
