# fix-options: --wrapper-module services.jobs
from services.jobs import enqueue, get_redis

from app.tasks import ping


def ping_later():
    enqueue("default", ping)


def cache():
    return get_redis(decode_responses=True)
