"""Queues built inline, and every noqa form flake8 users write."""

import django_rq
from rq import Queue
from rq.queue import Queue as RQQueue

import app.legacy_conn as lc

NAMES = ["high", "low"]

queues = [Queue(name, connection=lc.conn) for name in NAMES]
failed = Queue("default", connection=lc.conn).failed_job_registry
Queue("default", connection=lc.conn).enqueue(print)
all_queues = Queue.all(connection=lc.conn)
named = RQQueue(name="reports", connection=lc.conn)  # noqa: RQJ002
prefix = RQQueue("reports")  # noqa:RQJ0
letters = RQQueue("reports")  # noqa: RQJ
spaced = RQQueue("reports")  # noqa : RQJ001
other_code = RQQueue("reports")  # noqa: E501
blanket = RQQueue("reports")  # NOQA
multi = RQQueue(
    "reports",
    connection=lc.conn,
)  # noqa: RQJ002
first_line = RQQueue(  # noqa: RQJ002
    "reports",
)
doc_queue = RQQueue("""reports
""")  # noqa: RQJ002


def daily():
    q = django_rq.get_queue("reports")
    q.enqueue_call(func=print, args=(1,))
    return q.count
