import os

import redis
from redis import Redis
from rq import Queue


def send_welcome(user_id, fast):
    # Two spellings of the wrapper's client: the first pass makes both get_redis(), the
    # second sees one value for conn and rewrites the queue, and with it the enqueue.
    if fast:
        conn = Redis.from_url(os.environ["REDIS_URL"])
    else:
        conn = redis.from_url(os.getenv("REDIS_URL"))
    q = Queue("emails", connection=conn)
    q.enqueue(print, user_id)
