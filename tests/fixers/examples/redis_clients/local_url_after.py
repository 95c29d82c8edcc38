from rqjobs import get_redis


def connect():
    return get_redis(socket_timeout=2)
