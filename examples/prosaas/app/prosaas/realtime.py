"""Live call events for the agents' dashboard: an in-process queue drained by a thread.

This is a plain ``queue.Queue`` between threads of one process, not an RQ queue. The thread
runs only in the roles that allow realtime threads (``calls`` and ``all``); elsewhere
``start_call_event_thread()`` raises ``RoleViolation`` and ``publish_call_event()`` does nothing.
"""

from __future__ import annotations

import logging
import queue
import threading

from rqjobs.roles import requires_capability

log = logging.getLogger(__name__)

call_events: queue.Queue = queue.Queue(maxsize=1000)
_thread = None


def publish_call_event(event: dict) -> None:
    if _thread is None:
        return  # no dashboard feed in this process
    try:
        call_events.put_nowait(event)
    except queue.Full:
        log.warning("Dropping call event, dashboard is behind: %s", event)


def _drain() -> None:
    while True:
        event = call_events.get()
        log.info("call event %s", event)
        call_events.task_done()


@requires_capability("realtime_threads")
def start_call_event_thread() -> threading.Thread:
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_drain, name="call-events", daemon=True)
        _thread.start()
    return _thread
