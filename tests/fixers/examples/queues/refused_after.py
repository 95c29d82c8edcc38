from redis import Redis
from rq import Queue

from app.tasks import export

from rqjobs import get_queue, get_redis


def slow(app):
    Queue("slow", connection=get_redis(), default_timeout=600).enqueue(export)  # manual: RQJ002 RQJ003


def attribute_connection(app):
    q = Queue("exports", connection=app.redis)  # manual: RQJ002
    q.enqueue(export, 1)  # manual: RQJ003


def dynamic(args):
    q = get_queue("exports")
    q.enqueue_call(func=export, args=args)  # manual: RQJ003


def reserved():
    q = get_queue("exports")
    q.enqueue_call(func=export, kwargs={"description": "x"})  # manual: RQJ003


def host_port():
    return Queue("x", connection=Redis(host="cache"))  # manual: RQJ001 RQJ002
