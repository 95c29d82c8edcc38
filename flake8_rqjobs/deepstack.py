"""Run a function on a thread with a large C stack and a high recursion limit.

CPython's parser and our recursive visitor both recurse once per nesting level: a chain of a
few thousand ``+`` terms overflows the default limits (``RecursionError`` during ast
construction at about 3,000 terms, in the visitor from about 500). On a 512 MiB stack with
the recursion limit raised, such files parse and are checked like any other.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable, List, TypeVar

T = TypeVar("T")

STACK_SIZE = 512 * 1024 * 1024  # reserved address space, not memory actually used
RECURSION_LIMIT = 200_000

_lock = threading.Lock()
_active = 0  # deep threads running; the raised recursion limit is restored after the last
_saved_limit = 0


def run_deep(function: Callable[[], T]) -> T:
    """``function()`` on a large-stack thread; its exception (if any) is raised here. The
    recursion limit is raised while such a thread runs and restored afterwards."""
    global _active, _saved_limit
    result: List[T] = []
    error: List[BaseException] = []

    def target() -> None:
        try:
            result.append(function())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    with _lock:  # stack_size() and the recursion limit are process-wide settings
        if _active == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, RECURSION_LIMIT))
        _active += 1
        old_size = threading.stack_size()
        try:
            threading.stack_size(STACK_SIZE)
        except (ValueError, RuntimeError):  # pragma: no cover - platform without the knob
            pass
        try:
            thread = threading.Thread(target=target, name="flake8-rqjobs-deep", daemon=True)
            thread.start()
        finally:
            threading.stack_size(old_size)
    try:
        thread.join()
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                sys.setrecursionlimit(_saved_limit)
    if error:
        raise error[0]
    return result[0]
