"""A queue held in a module-level variable and used from functions."""
import os

from redis import Redis
from rq import Queue as RQueue

from app import tasks

QUEUE_NAME = "reports"
connection = Redis.from_url(os.environ["REDIS_URL"])
reports = RQueue(QUEUE_NAME, connection=connection)


def daily(day):
    return reports.enqueue(tasks.daily_report, day)


def weekly(week, queue_name="unused"):
    reports.enqueue(tasks.weekly_report, week, at_front=True)
