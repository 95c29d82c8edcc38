import os

from redis import Redis


def cached_user(user_id, fast):
    # Bound twice, both times to the same environment read: as good as bound once.
    if fast:
        REDIS_URL = os.getenv("REDIS_URL")
    else:
        REDIS_URL = os.getenv("REDIS_URL")
    conn = Redis.from_url(REDIS_URL)
    return conn.get(user_id)


def other_reads(user_id, fast):
    if fast:
        url = os.getenv("REDIS_URL")
    else:
        url = os.getenv("CACHE_URL")
    return Redis.from_url(url).get(user_id)  # manual: RQJ001
