"""Fixtures for the scheduler tests (helpers live in ``sched_support``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_redis import factories
from sched_support import PASSWORD, SchedulerFleet, server_executable

# A second server with a password, owned by these tests: they stop and restart it.
own_redis_proc = factories.redis_proc(
    executable=server_executable(), port=None, password=PASSWORD
)


@pytest.fixture
def own_redis(own_redis_proc: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The password-protected server, running and empty; REDIS_URL points at it (with the
    password in the URL). Started again after the test if the test stopped it."""
    import redis
    import rqjobs

    if not own_redis_proc.running():
        own_redis_proc.start()
    url = f"redis://:{PASSWORD}@{own_redis_proc.host}:{own_redis_proc.port}/0"
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.delenv("SERVICE_ROLE", raising=False)
    monkeypatch.delenv("RQJOBS_QUEUES", raising=False)
    monkeypatch.delenv("RQJOBS_SERIALIZER", raising=False)
    rqjobs.reset_redis()
    yield own_redis_proc
    rqjobs.reset_redis()
    if not own_redis_proc.running():
        own_redis_proc.start()


@pytest.fixture
def fleet(rqjobs_env: str, tmp_path: Path) -> Iterator[SchedulerFleet]:
    """Scheduler subprocesses on the session server; all are stopped after the test."""
    item = SchedulerFleet(redis_url=rqjobs_env, workdir=tmp_path)
    yield item
    for proc in item.procs:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait()
