from app.tasks import charge, refund
from rqjobs import enqueue


def bill(order_id):
    # the payments team's queue
    enqueue("billing", charge, order_id)


def give_back(order_id):
    enqueue(
        "billing",
        refund,
        order_id,  # by order, never by payment
    )
