from rq import Connection, Worker
from rq.connections import push_connection

from app.conn import redis_conn
from app.web import app
from app.reports import build_reports


def nightly():
    with Connection(redis_conn):  # manual: RQJ004
        build_reports()


def setup():
    push_connection(redis_conn)  # manual: RQJ004


@app.post("/admin/drain")
def drain():
    Worker(["default"], connection=redis_conn).work(burst=True)  # manual: RQJ005
    return "", 204
