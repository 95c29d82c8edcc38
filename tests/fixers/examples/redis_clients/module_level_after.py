"""Module-level client from REDIS_URL."""
import os

from rqjobs import get_redis

REDIS_URL = os.getenv("REDIS_URL")
client = get_redis()  # the shared client
