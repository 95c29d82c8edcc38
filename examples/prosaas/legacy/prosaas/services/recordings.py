"""Call recordings: Twilio tells us a recording is ready; a worker downloads it."""

from __future__ import annotations

import os
import time

from redis import Redis
from rq import Queue

from prosaas.tasks import download_recording_job


def schedule_recording_download(call_sid: str, recording_url: str):
    url = os.getenv("REDIS_URL", "redis://redis:6379/0")
    conn = Redis.from_url(url)
    q = Queue("recordings", connection=conn)
    return q.enqueue_call(
        func=download_recording_job,
        args=(call_sid, recording_url),
        job_id=f"recording-{int(time.time() * 1000)}",
        timeout=600,
    )
