from redis import Redis, StrictRedis


def local_default():
    # localhost:6379/0 is the runtime's default server only while REDIS_URL is unset.
    return Redis()  # manual: RQJ001


def spelled_out():
    return StrictRedis(host="localhost", port=6379, db=0, decode_responses=True)  # manual: RQJ001


def other_server():
    return Redis("cache", 6380)  # manual: RQJ001
