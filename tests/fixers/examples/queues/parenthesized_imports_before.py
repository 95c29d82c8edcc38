from rq import (
    Queue,
    Retry,
)

from app.tasks import charge
from rqjobs import (
    get_redis,
)


def bill(order_id):
    Queue("billing", connection=get_redis()).enqueue(charge, order_id, retry=Retry(max=3))
