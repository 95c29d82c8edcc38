from rq import Queue

from rqjobs import get_redis


def dispatch(queue_name, func, *args):
    q = Queue(queue_name, connection=get_redis())
    return q.enqueue(func, *args)
