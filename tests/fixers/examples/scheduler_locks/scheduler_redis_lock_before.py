import asyncio
from time import sleep

from app.tasks import tick


def with_ttl(redis_client):
    while True:
        lock = redis_client.lock("scheduler", timeout=30)
        if lock.acquire(blocking=False):
            try:
                tick()
            finally:
                lock.release()
        sleep(120)


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
        await asyncio.sleep(300.0)
