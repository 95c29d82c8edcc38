"""A queue held in a module-level variable and used from functions."""

from rqjobs import enqueue

from app import tasks

QUEUE_NAME = "reports"


def daily(day):
    return enqueue(QUEUE_NAME, tasks.daily_report, day)


def weekly(week, queue_name="unused"):
    enqueue(QUEUE_NAME, tasks.weekly_report, week, at_front=True)
