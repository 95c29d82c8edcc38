"""The module already has its own get_queue: the wrapper's is imported under an alias."""

from rqjobs import get_queue as rqjobs_get_queue


def get_queue(name="default"):
    return rqjobs_get_queue(name)
