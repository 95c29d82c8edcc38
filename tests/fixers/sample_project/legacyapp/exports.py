"""Account exports: a queue built inline, enqueue_call with literal arguments."""

import os

from redis import Redis
from rq import Queue as RQueue

from legacyapp.tasks import export_job


def request_export(account_id, fmt):
    url = os.getenv("REDIS_URL")
    q = RQueue("exports", connection=Redis.from_url(url))
    job = q.enqueue_call(func=export_job, args=(account_id,), kwargs={"fmt": fmt}, timeout=120)
    return job.id
