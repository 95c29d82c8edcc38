"""Module-level client from REDIS_URL."""
import os

import redis

REDIS_URL = os.getenv("REDIS_URL")
client = redis.from_url(REDIS_URL)  # the shared client
