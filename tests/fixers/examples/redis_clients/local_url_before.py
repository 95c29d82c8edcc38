import os

from redis import Redis


def connect():
    url = os.environ.get("REDIS_URL")
    return Redis.from_url(url, socket_timeout=2)
