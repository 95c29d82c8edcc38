"""Jobs; a refund comes from the payment provider's webhook."""

from rqjobs import event_job


@event_job
def apply_refund(event):
    return event["refund"]


def rebuild_search_index():
    return None
