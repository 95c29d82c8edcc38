"""Nothing here is a redis-py client built from REDIS_URL: the fixer leaves it alone."""
import os

import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from myapp.cache import from_url


async def async_client():
    return aioredis.from_url(os.getenv("REDIS_URL"))


def engine():
    return make_url(os.getenv("DATABASE_URL"))


def cache(redis):
    return redis.from_url(os.getenv("REDIS_URL"))


def other_library():
    return from_url(os.getenv("REDIS_URL"))
