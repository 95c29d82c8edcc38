import asyncio
from time import sleep

from app.tasks import tick


def with_ttl(redis_client):
    while True:
        lock = redis_client.lock("scheduler", timeout=30)
        if lock.acquire(blocking=False):
            tick()
        sleep(15)


def without_ttl(redis_client):
    lock = redis_client.lock("scheduler")
    lock.acquire()
    try:
        tick()
    finally:
        lock.release()  # manual: RQJ200


async def async_loop():
    while True:
        tick()
        await asyncio.sleep(15)
