"""Push notifications: a module-level queue used from functions."""

import os

from redis import Redis
from rq import Queue

from legacyapp.tasks import send_push_job

redis_conn = Redis.from_url(os.environ["REDIS_URL"])
notifications_queue = Queue("notifications", connection=redis_conn)


def notify(user_id, title):
    return notifications_queue.enqueue(send_push_job, user_id, title, job_timeout=30)


def pending():
    return notifications_queue.count
