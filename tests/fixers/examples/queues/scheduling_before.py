import os
from datetime import datetime, timedelta, timezone

from redis import Redis
from rq import Queue

from rqjobs import get_queue

from app.tasks import process_webhook_job, purge_sessions, send_reminder


def remind(user_id, when):
    q = Queue("reminders", connection=Redis.from_url(os.environ["REDIS_URL"]))
    q.enqueue_at(when, send_reminder, user_id, job_timeout=60)
    q.enqueue_in(timedelta(minutes=5), send_reminder, user_id, job_id=f"remind:{user_id}")


def nightly():
    get_queue("maintenance").enqueue_at(
        datetime(2030, 1, 1, 3, tzinfo=timezone.utc), purge_sessions, older_than=30
    )


def by_keyword(delay):
    get_queue("maintenance").enqueue_in(delay, purge_sessions, queue="other")  # manual: RQJ003
    get_queue("maintenance").enqueue_in(time_delta=delay, func=purge_sessions)  # manual: RQJ003


def retry_webhook(event, delay):
    get_queue("webhooks").enqueue_in(delay, process_webhook_job, event)  # manual: RQJ003 RQJ300
