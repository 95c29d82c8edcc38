"""One deadline per call: against a server that accepts TCP and never answers.

Every public call (and the CLI) must give up with the library's error within
``max(RQJOBS_CALL_DEADLINE, connect timeout + socket timeout)`` (10 s with the defaults),
whatever ``RQJOBS_RETRIES`` says. The control test shows the fault: plain redis-py with the
first cut's options multiplies its nested retry loops. Run with ``pytest -s`` to see the
measured seconds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import redis
import rqjobs
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from rqjobs import settings
from rqjobs.connection import DeadlineRetry, call_deadline_scope
from rqjobs.errors import RedisUnavailable

RQJOBS_CLI = str(Path(sys.executable).with_name("rqjobs"))
SLACK = 1.5  # scheduling, backoff jitter, interpreter start of the CLI
DEFAULT_BOUND = max(
    settings.DEFAULT_CALL_DEADLINE,
    settings.DEFAULT_SOCKET_CONNECT_TIMEOUT + settings.DEFAULT_SOCKET_TIMEOUT,
)
# The deadline decides: 3 retries allowed, 2 s deadline, 0.5 s + 0.5 s per attempt.
SHORT = {
    "RQJOBS_RETRIES": "3",
    "RQJOBS_CALL_DEADLINE": "2",
    "RQJOBS_SOCKET_TIMEOUT": "0.5",
    "RQJOBS_SOCKET_CONNECT_TIMEOUT": "0.5",
}
SHORT_BOUND = 2.0
SETTINGS = (
    "RQJOBS_RETRIES",
    "RQJOBS_CALL_DEADLINE",
    "RQJOBS_SOCKET_TIMEOUT",
    "RQJOBS_SOCKET_CONNECT_TIMEOUT",
    "RQJOBS_HEALTH_TIMEOUT",
    "SERVICE_ROLE",
    "RQJOBS_QUEUES",
)


class BlackHole:
    """A TCP listener on 127.0.0.1 that accepts every connection and never answers.

    The accept loop polls, so :meth:`close` stops it promptly; it also stops by itself
    after ``lifetime`` seconds, so a test that forgets to close it leaks nothing for long.
    """

    def __init__(self, lifetime: float = 120.0) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._until = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._run, name="black-hole", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def connections(self) -> int:
        return len(self.accepted)

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and time.monotonic() < self._until:
                try:
                    conn, _ = self.listener.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                self.accepted.append(conn)  # held open, never read from, never written to
        finally:
            for conn in self.accepted:
                conn.close()
            self.listener.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def black_hole(monkeypatch: pytest.MonkeyPatch) -> Iterator[BlackHole]:
    """A black hole, with ``REDIS_URL`` pointing at it and the rqjobs caches reset."""
    hole = BlackHole()
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", hole.url)
    rqjobs.reset_redis()
    yield hole
    rqjobs.reset_redis()
    hole.close()


def _ping() -> Any:
    return rqjobs.get_redis().ping()


def _enqueue() -> Any:
    return rqjobs.enqueue("default", "runtime_jobs.record", "x")


def _dedupe() -> Any:
    return rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "x", dedupe_key="bh:1")


def _stats() -> Any:
    return rqjobs.get_queue_stats()


CALLS: dict[str, Callable[[], Any]] = {
    "get_redis().ping()": _ping,
    "enqueue": _enqueue,
    "enqueue_with_dedupe": _dedupe,
    "get_queue_stats": _stats,
}


def _timed_failure(call: Callable[[], Any]) -> tuple[float, BaseException]:
    started = time.monotonic()
    with pytest.raises(RedisUnavailable) as caught:
        call()
    return time.monotonic() - started, caught.value


@pytest.mark.parametrize("name", list(CALLS))
def test_api_call_fails_within_the_default_bound(black_hole: BlackHole, name: str) -> None:
    elapsed, error = _timed_failure(CALLS[name])
    print(
        f"\n[black hole, defaults] {name}: {elapsed:.2f}s "
        f"({black_hole.connections} connections), bound {DEFAULT_BOUND:g}s: {error}"
    )
    assert elapsed <= DEFAULT_BOUND + SLACK
    assert black_hole.url in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize("name", list(CALLS))
def test_the_deadline_not_the_retries_decides(
    black_hole: BlackHole, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    for variable, value in SHORT.items():
        monkeypatch.setenv(variable, value)
    rqjobs.reset_redis()
    elapsed, error = _timed_failure(CALLS[name])
    print(
        f"\n[black hole, RETRIES=3 DEADLINE=2 timeouts 0.5+0.5] {name}: {elapsed:.2f}s "
        f"({black_hole.connections} connections): {error}"
    )
    assert elapsed <= SHORT_BOUND + SLACK
    # 3 retries would allow 4 attempts: the deadline stopped them earlier.
    assert black_hole.connections < 1 + int(SHORT["RQJOBS_RETRIES"])


@pytest.mark.parametrize("short", [False, True], ids=["defaults", "deadline-2s"])
def test_health_report_fails_within_the_bound(
    black_hole: BlackHole, monkeypatch: pytest.MonkeyPatch, short: bool
) -> None:
    if short:
        for variable, value in SHORT.items():
            monkeypatch.setenv(variable, value)
    started = time.monotonic()
    status, body = rqjobs.health_report()
    elapsed = time.monotonic() - started
    print(f"\n[black hole, {'short' if short else 'defaults'}] health_report: {elapsed:.2f}s")
    assert status == 503
    assert body["status"] == "unhealthy"
    assert elapsed <= (SHORT_BOUND if short else DEFAULT_BOUND) + SLACK


@pytest.mark.parametrize("command", ["stats", "health"])
@pytest.mark.parametrize("short", [False, True], ids=["defaults", "deadline-2s"])
def test_cli_fails_within_the_bound(black_hole: BlackHole, command: str, short: bool) -> None:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env["REDIS_URL"] = black_hole.url
    if short:
        env.update(SHORT)
    bound = SHORT_BOUND if short else DEFAULT_BOUND
    started = time.monotonic()
    result = subprocess.run(
        [RQJOBS_CLI, command],
        env=env,
        capture_output=True,
        text=True,
        timeout=bound + 30,
        check=False,
    )
    elapsed = time.monotonic() - started
    print(
        f"\n[black hole, {'short' if short else 'defaults'}] rqjobs {command}: {elapsed:.2f}s "
        f"exit {result.returncode}: {result.stderr.strip()}"
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed <= bound + SLACK


@pytest.mark.skipif(
    int(redis.__version__.split(".")[0]) < 6,
    reason="redis-py 5.x re-sends nothing without retry_on_error (its health check recurses "
    "instead): the nested-retry fault this control shows is redis-py 6 and later's",
)
def test_control_plain_redis_py_with_the_first_cut_options_takes_much_longer(
    black_hole: BlackHole, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault: redis-py's nested retry loops multiply (1 retry -> 4 attempts)."""
    plain = redis.Redis(
        host="127.0.0.1",
        port=black_hole.port,
        socket_timeout=1,
        socket_connect_timeout=1,
        retry=Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), 1),
        health_check_interval=30,
    )
    started = time.monotonic()
    with pytest.raises(redis.exceptions.TimeoutError):
        plain.ping()
    control = time.monotonic() - started
    plain_connections = black_hole.connections
    plain.close()

    # rqjobs with the same timeouts and retries, and a 2 s deadline (the bound: 2 s).
    monkeypatch.setenv("RQJOBS_SOCKET_TIMEOUT", "1")
    monkeypatch.setenv("RQJOBS_SOCKET_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("RQJOBS_RETRIES", "1")
    monkeypatch.setenv("RQJOBS_CALL_DEADLINE", "2")
    rqjobs.reset_redis()
    bound = max(2.0, 1.0 + 1.0)
    bounded, _ = _timed_failure(_ping)
    # ... and with the default 10 s deadline: the shared retry budget alone halves it.
    monkeypatch.delenv("RQJOBS_CALL_DEADLINE")
    rqjobs.reset_redis()
    budgeted, _ = _timed_failure(_ping)
    print(
        f"\n[control] plain redis-py (socket 1s, connect 1s, Retry 1, health check 30s): "
        f"{control:.2f}s, {plain_connections} connections; rqjobs same options, deadline 2s: "
        f"{bounded:.2f}s (bound {bound:g}s); rqjobs same options, deadline 10s: {budgeted:.2f}s"
    )
    assert control > 2 * bound
    assert bounded <= bound + SLACK
    assert budgeted < control


def test_a_scope_shares_one_deadline_and_refuses_to_start_late(black_hole: BlackHole) -> None:
    """Inside one scope the second command does not get a fresh deadline."""
    client = rqjobs.get_redis()
    started = time.monotonic()
    with call_deadline_scope(4.0) as deadline:
        with pytest.raises(RedisUnavailable):
            client.ping()  # ~3 s: one attempt (3 s read), no retry fits in the 4 s
        first = time.monotonic() - started
        with pytest.raises(RedisUnavailable, match="deadline"):
            client.ping()  # 1 s left < one attempt (2 s + 3 s): refused at once
        with call_deadline_scope(60) as inner:
            assert inner is deadline  # a nested scope keeps the outer deadline
    elapsed = time.monotonic() - started
    print(f"\n[scope 4s] first ping {first:.2f}s, both {elapsed:.2f}s")
    assert elapsed - first < 0.5
    assert elapsed <= 4.0 + SLACK


def test_past_deadline_raises_timeout_at_once(rqjobs_env: str) -> None:
    client = rqjobs.get_redis()
    assert client.ping() is True
    with call_deadline_scope(0.05):
        time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError, match="deadline"):
            client.get("rqjobs-test:deadline")
        assert time.monotonic() - started < 0.05
    assert client.ping() is True  # the connection was not touched


def test_deadline_retry_accepts_every_redis_py_signature() -> None:
    retry = DeadlineRetry(
        ExponentialWithJitterBackoff(cap=0.01, base=0.001),
        2,
        connect_timeout=0.1,
        socket_timeout=0.1,
    )
    calls: list[tuple[Any, ...]] = []
    attempts: Iterator[Exception | None] = iter([redis.exceptions.ConnectionError("x"), None])

    def do() -> str:
        error = next(attempts)
        if error is not None:
            raise error
        return "ok"

    assert retry.call_with_retry(do, lambda error: calls.append((error,))) == "ok"
    attempts = iter([redis.exceptions.TimeoutError("t"), None])
    assert retry.call_with_retry(do, lambda *a: calls.append(a), None, True) == "ok"
    attempts = iter([redis.exceptions.TimeoutError("t"), None])
    result = retry.call_with_retry(
        do, lambda *a: calls.append(a), is_retryable=lambda e: True, with_failure_count=True
    )
    assert result == "ok"
    assert [len(call) for call in calls] == [1, 2, 2]
    assert calls[1][1] == 1
    # not retryable: raised at once
    attempts = iter([redis.exceptions.TimeoutError("t"), None])
    with pytest.raises(redis.exceptions.TimeoutError):
        retry.call_with_retry(do, lambda error: None, lambda e: False)
