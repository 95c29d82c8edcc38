from app.tasks import export
from rqjobs import enqueue, get_queue


def start_export(account_id):
    q = get_queue("exports")
    job = enqueue("exports", export, account_id)
    return job.id, q.count


def queue_for(name):
    return get_queue(name)
