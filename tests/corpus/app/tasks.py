"""Job functions and a realtime thread queue (look-alikes)."""

import asyncio
import multiprocessing
import queue
from queue import Queue as ThreadQueue

from kombu import Queue as KombuQueue
from rq import Queue as BaseQueue

from rqjobs import event_job

realtime = queue.Queue()
thread_q = ThreadQueue(maxsize=100)
mp_q = multiprocessing.Queue()
managed = multiprocessing.Manager().Queue()
kombu_q = KombuQueue("tasks", routing_key="tasks")


class PriorityQueue(BaseQueue):
    pass


high = PriorityQueue("high")


async def pump():
    q = asyncio.Queue()
    await q.put(1)


@event_job
def sync_contact(event):
    return event


def process_webhook_job(payload):
    return payload


def push_send_job(user_id):
    return user_id


def save_recording_job(call_sid):
    return call_sid


def send_reminders():
    return BaseQueue.all()
