"""Fork safety: a child keeps using the client it inherited, while parent threads hammer it.

redis-py 8.1's ``ConnectionPool._checkpid()``/``reset()`` take the pool's locks in the
child; a child forked while a parent thread held one waited for ever. The runtime's
at-fork hook gives every client it created fresh locks and an empty pool without taking
any lock, and the child never writes on a parent's socket.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
import redis
import rqjobs

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # Python 3.12+ warns about fork() in a process with threads: that is the point here.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

FORKS = 200
BATCH = 10
THREADS = 4
CHILD_TIMEOUT = 10.0


def _child(client: Any) -> None:
    """In the child: one INCR through the inherited client object, then exit at once."""
    code = 1
    try:
        client.incr("rqjobs-test:child")
        code = 0
    except BaseException:  # noqa: BLE001 - reported through the exit status
        code = 3
    finally:
        os._exit(code)


def _wait(pid: int, until: float) -> tuple[bool, int]:
    """``(hung, exit status)``; SIGKILL the child when it is not done by ``until``."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return False, os.waitstatus_to_exitcode(status)
        if time.monotonic() > until:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return True, -9
        time.sleep(0.005)


def test_children_use_the_inherited_client_while_parent_threads_hammer_it(
    rqjobs_env: str, redis_conn: redis.Redis
) -> None:
    client = rqjobs.get_redis()
    assert client.ping() is True
    connections_before = int(redis_conn.info("stats")["total_connections_received"])
    stop = threading.Event()
    errors: list[BaseException] = []
    counts = [0] * THREADS

    def hammer(index: int) -> None:
        key = f"rqjobs-test:parent:{index}"
        expected = 0
        try:
            while not stop.is_set():
                if rqjobs.get_redis().ping() is not True:
                    raise AssertionError("PING did not answer PONG")
                expected += 1
                value = client.incr(key)
                if value != expected:  # a reply stolen or injected by a child
                    raise AssertionError(f"INCR {key} answered {value!r}, expected {expected}")
                counts[index] = expected
        except BaseException as exc:  # noqa: BLE001 - checked by the test
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    hung = failed = children = 0
    started = time.monotonic()
    try:
        while children < FORKS:
            pids = []
            for _ in range(min(BATCH, FORKS - children)):
                pid = os.fork()
                if pid == 0:
                    _child(client)
                pids.append(pid)
                children += 1
            until = time.monotonic() + CHILD_TIMEOUT
            for pid in pids:
                was_hung, code = _wait(pid, until)
                hung += was_hung
                failed += (not was_hung) and code != 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    elapsed = time.monotonic() - started
    connections = int(redis_conn.info("stats")["total_connections_received"]) - connections_before
    print(
        f"\n[fork] {children} forks in {elapsed:.1f}s with {THREADS} threads hammering: "
        f"{hung} hung, {failed} failed; parent commands {2 * sum(counts)}; "
        f"server saw {connections} new connections"
    )
    assert hung == 0
    assert failed == 0
    assert not errors, errors[:3]
    assert int(redis_conn.get("rqjobs-test:child") or 0) == children
    assert all(count > 0 for count in counts)
    # Every child opened its own connection: none used a socket of the parent.
    assert connections >= children


def _pool_lock_names() -> list[str]:
    """The pool locks of the installed redis-py (8.x adds its event dispatcher's)."""
    names = ["_lock", "_fork_lock"]
    dispatcher = getattr(redis.ConnectionPool(), "_event_dispatcher", None)
    if dispatcher is not None and hasattr(dispatcher, "_lock"):
        names.append("_event_dispatcher._lock")
    return names


@pytest.mark.parametrize("lock_name", _pool_lock_names())
def test_a_lock_held_by_a_parent_thread_at_fork_time_does_not_hang_the_child(
    rqjobs_env: str, redis_conn: redis.Redis, lock_name: str
) -> None:
    """Deterministic: a parent thread holds one of the pool's locks while the fork happens."""
    client = rqjobs.get_redis()
    assert client.ping() is True
    owner: Any = client.connection_pool
    for part in lock_name.split(".")[:-1]:
        owner = getattr(owner, part)
    lock = getattr(owner, lock_name.rsplit(".", 1)[-1])
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert held.wait(5)
    try:
        pid = os.fork()
        if pid == 0:
            _child(client)
        hung, code = _wait(pid, time.monotonic() + CHILD_TIMEOUT)
    finally:
        release.set()
        holder.join(5)
    print(f"\n[fork, parent thread holding {lock_name}] hung={hung} exit={code}")
    assert not hung
    assert code == 0
    assert int(redis_conn.get("rqjobs-test:child") or 0) == 1
    assert client.ping() is True  # the parent's client is unharmed
