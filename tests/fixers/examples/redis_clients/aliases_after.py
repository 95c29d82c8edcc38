from rqjobs import get_redis


def queue_conn():
    return get_redis()


def cache_conn():
    return get_redis(
        decode_responses=True,
    )


def default_conn():
    return get_redis()
