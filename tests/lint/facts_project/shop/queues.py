"""A queue class with the shop's own default timeout."""

from rq import Queue as RQQueue


class Queue(RQQueue):
    default_timeout = 600
