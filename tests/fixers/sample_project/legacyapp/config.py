"""Settings and the shared Redis client."""

import os

import redis

REDIS_URL = os.getenv("REDIS_URL")

# None when Redis is not configured (unit tests without a server).
redis_client = redis.from_url(REDIS_URL) if REDIS_URL else None
