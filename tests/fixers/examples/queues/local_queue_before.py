import os

from redis import Redis
from rq import Queue

from app.tasks import send_email

redis_conn = Redis.from_url(os.getenv("REDIS_URL"))


def notify(user_id):
    q = Queue("emails", connection=redis_conn)
    # one mail per user
    q.enqueue(send_email, user_id, job_timeout=30)
