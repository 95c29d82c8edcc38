from rq import Worker

from rqjobs import get_queue, get_redis

QUEUE_NAMES = ["high", "default", "low"]


def all_queues():
    return [get_queue(name) for name in QUEUE_NAMES]


def failed_count(name):
    return get_queue(name).failed_job_registry.count


def worker():
    return Worker(all_queues(), connection=get_redis())
