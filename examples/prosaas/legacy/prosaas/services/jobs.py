"""Job helpers shared by the routes and services."""

from __future__ import annotations

import os

from redis import Redis
from rq import Queue

_connection = None


def get_redis_connection():
    global _connection
    if _connection is None:
        _connection = Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"))
    return _connection


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis_connection())
