"""The cycle lock on a real Redis: SET NX EX with a token, owner-checked extension."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rqjobs import extend_scheduler_lock, try_acquire_scheduler_lock
from rqjobs.lock import cycle_lock_key, get_lock_holder, make_holder_token


@pytest.mark.smoke
def test_one_winner_per_key_and_the_key_expires_by_itself(redis_conn: Any) -> None:
    key = cycle_lock_key(123)
    assert key == "rqjobs:scheduler:lock:123"
    first = try_acquire_scheduler_lock(redis_conn, key, ttl=90)
    assert first is not None
    assert try_acquire_scheduler_lock(redis_conn, key, ttl=90) is None
    assert get_lock_holder(redis_conn, key) == first
    assert 85 <= redis_conn.ttl(key) <= 90
    # The next cycle is a new key: free although the previous cycle is still locked.
    assert try_acquire_scheduler_lock(redis_conn, cycle_lock_key(124), ttl=90) is not None


def test_many_threads_race_one_winner(redis_conn: Any) -> None:
    import redis

    url = "redis://{host}:{port}/0".format(**redis_conn.connection_pool.connection_kwargs)
    wins: list[str] = []
    barrier = threading.Barrier(16)

    def contend() -> None:
        client = redis.Redis.from_url(url)
        barrier.wait()
        token = try_acquire_scheduler_lock(client, cycle_lock_key(7), ttl=30)
        if token:
            wins.append(token)
        client.close()

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1


def test_a_resent_set_recognises_its_own_token(redis_conn: Any) -> None:
    """redis-py re-sends a SET whose reply was lost; the re-send sees the key set."""
    token = make_holder_token()
    key = cycle_lock_key(5)
    redis_conn.set(key, token, nx=True, ex=90)  # the first send, reply "lost"
    assert try_acquire_scheduler_lock(redis_conn, key, ttl=90, token=token) == token
    assert try_acquire_scheduler_lock(redis_conn, key, ttl=90, token=make_holder_token()) is None


def test_extension_is_owner_checked(redis_conn: Any) -> None:
    key = cycle_lock_key(9)
    mine = try_acquire_scheduler_lock(redis_conn, key, ttl=10)
    assert mine is not None
    assert extend_scheduler_lock(redis_conn, key, mine, ttl=90)
    assert redis_conn.ttl(key) > 10
    # Someone else's lock (ours expired and another process took the key) is left alone.
    redis_conn.set(key, "otherhost:1:abcd", ex=10)
    assert not extend_scheduler_lock(redis_conn, key, mine, ttl=90)
    assert redis_conn.ttl(key) <= 10
    assert get_lock_holder(redis_conn, key) == "otherhost:1:abcd"
    # An expired lock is not resurrected.
    redis_conn.delete(key)
    assert not extend_scheduler_lock(redis_conn, key, mine, ttl=90)
    assert not redis_conn.exists(key)


def test_holder_token_names_host_and_pid() -> None:
    import os
    import socket

    host, pid, rand = make_holder_token().rsplit(":", 2)
    assert host == socket.gethostname()
    assert pid == str(os.getpid())
    assert len(rand) == 8


def test_bad_ttl_is_refused(redis_conn: Any) -> None:
    with pytest.raises(ValueError, match="ttl"):
        try_acquire_scheduler_lock(redis_conn, cycle_lock_key(1), ttl=0)
    assert not redis_conn.exists(cycle_lock_key(1))
