"""A copy of the runtime package (always sanctioned)."""

from rq import Queue

q = Queue("default")
