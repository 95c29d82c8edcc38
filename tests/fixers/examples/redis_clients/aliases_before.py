import os
from os import environ as env

import redis as rds
from redis import Redis as R
from redis.client import StrictRedis


def queue_conn():
    return R.from_url(os.environ["REDIS_URL"])


def cache_conn():
    return StrictRedis.from_url(
        env.get("REDIS_URL"),
        decode_responses=True,
    )


def default_conn():
    return rds.from_url(url=os.getenv("REDIS_URL", "redis://localhost:6379/0"))
