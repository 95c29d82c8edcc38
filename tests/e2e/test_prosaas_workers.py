"""Four real workers, 2,000 push notifications (each delivered twice): every one runs once.

Issue test 3. The notifications go through the app's own ``dispatch_push`` (atomic dedupe
with ``push:notification:{id}``); four ``rqjobs worker --burst`` processes drain the queue
at the same time; ``push_send_job`` counts its runs per notification in Redis.
"""

from __future__ import annotations

import random

from prosaas_support import run_workers

EVENTS = 2000


def test_four_workers_run_each_of_2000_jobs_exactly_once(
    prosaas_env, redis_url, redis_conn
) -> None:  # type: ignore[no-untyped-def]
    from prosaas.services.notifications import dispatch_push
    from rq import Queue
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    deliveries = [f"n-{number}" for number in range(EVENTS)] * 2  # the provider retries each once
    random.Random(6).shuffle(deliveries)
    jobs = [dispatch_push(notification_id, "u-1", "Reminder") for notification_id in deliveries]
    assert sum(job is not None for job in jobs) == EVENTS
    assert redis_conn.llen("rq:queue:notifications") == EVENTS

    run_workers(redis_url, ["notifications"], count=4, timeout=600)

    runs = redis_conn.hgetall("prosaas:processed:push")
    assert len(runs) == EVENTS
    assert {int(count) for count in runs.values()} == {1}
    queue = Queue("notifications", connection=redis_conn)
    assert queue.count == 0
    assert FailedJobRegistry(queue=queue).count == 0
    assert FinishedJobRegistry(queue=queue).count == EVENTS
    # Four different workers took part.
    fetched = queue.job_class.fetch_many(
        [job.id for job in jobs if job is not None], connection=redis_conn
    )
    workers = {job.worker_name for job in fetched if job is not None}
    assert len(workers) == 4
