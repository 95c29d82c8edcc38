import os

import redis
from redis import Redis

# Reads the work list with BLPOP: redis-py's client has no socket timeout, so the call
# returns None after 8 s; the fixed client keeps no socket timeout either.
inbox = Redis.from_url(os.environ["REDIS_URL"])


def next_message():
    return inbox.blpop("inbox", timeout=8)


def listen(channel):
    client = redis.from_url(os.getenv("REDIS_URL"), decode_responses=True)
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    return pubsub.listen()


def tail(stream):
    return redis.from_url(os.environ["REDIS_URL"]).xread({stream: "$"}, block=5000)


def own_timeout():
    client = redis.from_url(os.environ["REDIS_URL"], socket_timeout=30)
    return client.brpop("jobs", timeout=20)


def plain(key):
    cache = redis.from_url(os.environ["REDIS_URL"])
    return cache.get(key)
