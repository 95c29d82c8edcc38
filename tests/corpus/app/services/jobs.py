"""The team's wrapper: the one place allowed to build clients and queues (sanctioned)."""

import os

import redis
from rq import Queue

_redis = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
_queues = {}


def get_redis():
    return _redis


def get_queue(name="default"):
    if name not in _queues:
        _queues[name] = Queue(name, connection=_redis)
    return _queues[name]


def enqueue(queue, func, *args, **kwargs):
    return get_queue(queue).enqueue(func, *args, **kwargs)


def enqueue_with_dedupe(queue, func, *args, dedupe_key, ttl=600, **kwargs):
    if _redis.set(f"job_lock:{dedupe_key}", 1, nx=True, ex=ttl):
        return get_queue(queue).enqueue(func, *args, **kwargs)
    return None
