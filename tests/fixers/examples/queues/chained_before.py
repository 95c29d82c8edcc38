import os

import rq
from redis import Redis

from app.tasks import send_email


def welcome(user_id):
    rq.Queue("emails", connection=Redis.from_url(os.getenv("REDIS_URL"))).enqueue(
        send_email,
        user_id,
        template="welcome",
    )


def reminder(user_id):
    conn = Redis.from_url(os.getenv("REDIS_URL"))
    rq.Queue(connection=conn).enqueue_call(
        func=send_email, args=(user_id,), kwargs={"template": "reminder"}, timeout=60
    )
