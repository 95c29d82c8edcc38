# fix-options: --wrapper-module services.jobs --wrapper-default-url redis://redis:6379/0
import os

from redis import Redis


def compose_default():
    # The team's wrapper falls back to the compose service, as this call does.
    return Redis.from_url(os.getenv("REDIS_URL", "redis://redis:6379/0"))


def runtime_default():
    return Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"))  # manual: RQJ001


def no_default():
    return Redis.from_url(os.environ["REDIS_URL"])
