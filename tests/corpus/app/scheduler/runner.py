"""A hand-rolled scheduler (scheduler path): manual lock release, long ticks."""

import time
from time import sleep

from app.services.jobs import get_redis

TICK = 60


def acquire_lock(name):
    return get_redis().set(name, 1, nx=True, ex=90)


def release_lock(name):
    get_redis().delete(name)


def loop():
    r = get_redis()
    while True:
        if acquire_lock("scheduler"):
            try:
                run_due()
            finally:
                release_lock("scheduler")
        lock = r.lock("cycle", timeout=30)
        if lock.acquire(blocking=False):
            lock.release()
        time.sleep(TICK)
        sleep(10)


def run_due():
    for _ in range(3):
        time.sleep(120)
