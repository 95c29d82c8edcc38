from rqjobs import get_redis

# Reads the work list with BLPOP: redis-py's client has no socket timeout, so the call
# returns None after 8 s; the fixed client keeps no socket timeout either.
inbox = get_redis(socket_timeout=None)


def next_message():
    return inbox.blpop("inbox", timeout=8)


def listen(channel):
    client = get_redis(decode_responses=True, socket_timeout=None)
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    return pubsub.listen()


def tail(stream):
    return get_redis(socket_timeout=None).xread({stream: "$"}, block=5000)


def own_timeout():
    client = get_redis(socket_timeout=30)
    return client.brpop("jobs", timeout=20)


def plain(key):
    cache = get_redis()
    return cache.get(key)
