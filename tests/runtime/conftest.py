"""Fixtures of the runtime tests: a private Redis server with AOF, the reply-dropping proxy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from port_for import get_port
from pytest_redis.executor import RedisExecutor

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtime_support import ReplyDroppingProxy  # noqa: E402


def start_private_redis(
    executable: str, datadir: Path, *, password: str | None = None
) -> RedisExecutor:
    """A redis-server of this test alone (pytest-redis's executor), AOF on, fsync always."""
    executor = RedisExecutor(
        executable=executable,
        databases=4,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=get_port(None),
        password=password,
        appendonly="yes",
        datadir=datadir,
    )
    executor.start()
    make_fsync_always(executor)
    return executor


def make_fsync_always(executor: RedisExecutor) -> None:
    """``CONFIG SET appendfsync always`` (the executor has no flag for it; redo after a restart)."""
    client = redis.Redis(host=executor.host, port=executor.port, password=executor.password)
    client.config_set("appendfsync", "always")
    client.close()


@pytest.fixture
def private_redis(redis_proc, tmp_path: Path) -> Iterator[RedisExecutor]:  # type: ignore[no-untyped-def]
    """A private AOF server (stop/restart it freely); stopped after the test.

    Same binary as the session server (``redis_proc.executable``).
    """
    executor = start_private_redis(redis_proc.executable, tmp_path)
    yield executor
    executor.stop()


@pytest.fixture
def proxy(redis_proc) -> Iterator[ReplyDroppingProxy]:  # type: ignore[no-untyped-def]
    """A :class:`ReplyDroppingProxy` in front of the session server."""
    server = ReplyDroppingProxy(redis_proc.host, redis_proc.port)
    yield server
    server.close()
