"""Fixtures of the runtime tests: a private Redis server with AOF, the reply-dropping proxy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_redis.executor import RedisExecutor

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtime_support import ReplyDroppingProxy, start_private_redis  # noqa: E402


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
