"""Uses the facts of four other modules; none of its lines says rq or redis."""

from shop.jobs import apply_refund, rebuild_search_index
from shop.queues import Queue
from shop.rq_queues import default_queue
from shop.services.jobs import enqueue_job


def resend_invoice(invoice_id):
    default_queue.enqueue_call(func="shop.tasks.send_invoice", args=(invoice_id,))


def refund(event):
    enqueue_job("billing", apply_refund, event)


def nightly():
    enqueue_job("billing", rebuild_search_index)


reports = Queue("reports")
