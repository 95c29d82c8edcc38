"""Connections built all over the place, with every alias form."""

import os

import redis
import redis as r
import redis.asyncio as aioredis
from redis import ConnectionPool, Redis as R
from redis.client import StrictRedis
from redis.sentinel import Sentinel
from sqlalchemy import engine

REDIS_URL = os.getenv("REDIS_URL", "redis://redis:6379/0")

conn = redis.from_url(REDIS_URL) if REDIS_URL else None
cache = R.from_url(REDIS_URL, decode_responses=True)
strict = StrictRedis(host="localhost")
pool = ConnectionPool.from_url(REDIS_URL)
via_pool = r.Redis(connection_pool=pool)
sentinel = Sentinel([("sentinel", 26379)])
async_client = aioredis.from_url(REDIS_URL)  # look-alike: redis.asyncio
db = engine.URL.create("postgresql")  # another library


def connect_to_redis():
    return redis.StrictRedis.from_url(REDIS_URL)


def uses_parameter(redis):
    # a parameter named redis is not the module
    return redis.from_url(REDIS_URL)


def shadowed():
    redis = object()
    return redis.from_url(REDIS_URL)


class Cache(redis.Redis):
    pass


subclass_client = Cache()
