"""Queues that are not RQ queues: the fixer leaves them alone."""
import asyncio
import multiprocessing
import queue

from kombu import Queue as KombuQueue

events = queue.Queue()
results = multiprocessing.Queue()


async def consume():
    inbox = asyncio.Queue()
    await inbox.put(1)
    return await inbox.get()


def broker_queue():
    return KombuQueue("default", routing_key="default")


def local_only():
    q = queue.Queue()
    q.put(1)
    return q
