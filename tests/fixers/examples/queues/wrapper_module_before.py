# fix-options: --wrapper-module services.jobs
import os

from redis import Redis
from rq import Queue

from services.jobs import get_redis

from app.tasks import ping


def ping_later():
    Queue("default", connection=get_redis()).enqueue(ping)


def cache():
    return Redis.from_url(os.getenv("REDIS_URL"), decode_responses=True)
