# fix-options: --wrapper-module services.jobs --wrapper-default-url redis://redis:6379/0
import os

from redis import Redis

from services.jobs import get_redis


def compose_default():
    # The team's wrapper falls back to the compose service, as this call does.
    return get_redis()


def runtime_default():
    return Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"))  # manual: RQJ001


def no_default():
    return get_redis()
