from rq import Queue, Worker

from rqjobs import get_redis

QUEUE_NAMES = ["high", "default", "low"]


def all_queues():
    return [Queue(name, connection=get_redis()) for name in QUEUE_NAMES]


def failed_count(name):
    return Queue(name, connection=get_redis()).failed_job_registry.count


def worker():
    return Worker(all_queues(), connection=get_redis())
