from datetime import datetime, timedelta, timezone

from rqjobs import enqueue_at, enqueue_in, get_queue

from app.tasks import process_webhook_job, purge_sessions, send_reminder


def remind(user_id, when):
    enqueue_at("reminders", when, send_reminder, user_id, job_timeout=60)
    enqueue_in("reminders", timedelta(minutes=5), send_reminder, user_id, job_id=f"remind:{user_id}")


def nightly():
    enqueue_at(
        "maintenance",
        datetime(2030, 1, 1, 3, tzinfo=timezone.utc), purge_sessions, older_than=30
    )


def by_keyword(delay):
    get_queue("maintenance").enqueue_in(delay, purge_sessions, queue="other")  # manual: RQJ003
    get_queue("maintenance").enqueue_in(time_delta=delay, func=purge_sessions)  # manual: RQJ003


def retry_webhook(event, delay):
    get_queue("webhooks").enqueue_in(delay, process_webhook_job, event)  # manual: RQJ003 RQJ300
