"""Call recordings: this Redis falls back to another host, so the fixer leaves it to a human."""

import os

from redis import Redis
from rq import Queue

from legacyapp.tasks import download_recording_job


def schedule_download(call_sid):
    conn = Redis.from_url(os.getenv("REDIS_URL", "redis://recordings:6379/0"))
    q = Queue("recordings", connection=conn)
    return q.enqueue(download_recording_job, call_sid)
