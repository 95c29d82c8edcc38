"""Push notifications: sent by a worker, never from the request."""

from __future__ import annotations

import os

from redis import Redis
from rq import Queue

from prosaas.tasks import push_send_job


def dispatch_push(notification_id: str, user_id: str, title: str):
    conn = Redis.from_url(os.environ["REDIS_URL"])
    queue = Queue("notifications", connection=conn)
    return queue.enqueue(push_send_job, notification_id, user_id, title)
