import os

from redis import ConnectionPool, Redis


def other_default():
    return Redis.from_url(os.getenv("REDIS_URL", "redis://redis:6379/0"))  # manual: RQJ001


def other_url():
    return Redis.from_url(os.getenv("CACHE_URL"))  # manual: RQJ001


def host_port():
    return Redis(host="cache", port=6379, db=1)  # manual: RQJ001


def options(**kwargs):
    return Redis.from_url(os.getenv("REDIS_URL"), **kwargs)  # manual: RQJ001


def pool():
    return ConnectionPool.from_url(os.getenv("REDIS_URL"))  # manual: RQJ001


def settings_url(settings):
    return Redis.from_url(settings.REDIS_URL)  # manual: RQJ001
