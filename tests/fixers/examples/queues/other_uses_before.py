from rq.queue import Queue

from app.tasks import export

from rqjobs import get_redis


def start_export(account_id):
    q = Queue("exports", connection=get_redis())
    job = q.enqueue(export, account_id)
    return job.id, q.count


def queue_for(name):
    return Queue(name, connection=get_redis())
