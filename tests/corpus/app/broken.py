import redis

def broken(:
    return redis.Redis()
