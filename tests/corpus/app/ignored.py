# flake8: noqa
import redis

client = redis.Redis()
