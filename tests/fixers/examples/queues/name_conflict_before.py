"""The module already has its own get_queue: the wrapper's is imported under an alias."""
from rq import Queue

from rqjobs import get_redis


def get_queue(name="default"):
    return Queue(name, connection=get_redis())
