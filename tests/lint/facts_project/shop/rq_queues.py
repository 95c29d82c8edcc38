"""The shop's queues, configured as a wrapper module: nothing here is reported."""

from redis import Redis
from rq import Queue

redis_conn = Redis.from_url("redis://localhost:6379/0")
default_queue = Queue("default", connection=redis_conn)
