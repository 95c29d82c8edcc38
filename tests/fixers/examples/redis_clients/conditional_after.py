import os

from rqjobs import get_redis

REDIS_URL = os.getenv("REDIS_URL")

# None when Redis is not configured (unit tests)
redis_client = get_redis() if REDIS_URL else None
