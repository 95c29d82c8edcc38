from rq import (
    Retry,
)

from app.tasks import charge
from rqjobs import enqueue


def bill(order_id):
    enqueue("billing", charge, order_id, retry=Retry(max=3))
