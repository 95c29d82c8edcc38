from rq import Queue

from app.tasks import charge, refund
from rqjobs import get_redis


def bill(order_id):
    q = Queue(
        "billing",  # the payments team's queue
        connection=get_redis(),
    )
    q.enqueue(charge, order_id)


def give_back(order_id):
    Queue("billing", connection=get_redis()).enqueue_call(
        func=refund,
        args=(order_id,),  # by order, never by payment
    )
