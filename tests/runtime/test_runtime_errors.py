"""Redis refusals (READONLY, OOM, NOPERM) become one-line rqjobs errors, on real servers.

Each test starts its own redis-server (pytest-redis's executor, same binary as the
session server): a replica of a private primary, a primary with ``maxmemory 1mb`` and
``noeviction`` filled up, and a server with an ACL user that may not run EVALSHA.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import rqjobs
from port_for import get_port
from pytest_redis.executor import RedisExecutor
from rqjobs.errors import (
    RedisNoPermission,
    RedisOutOfMemory,
    RedisReadOnly,
    RedisRefused,
    RedisTimedOut,
    RedisUnavailable,
    translate_redis_error,
)

PASSWORD = "s3cret-Pa55word"


def _start(executable: str, datadir: Path) -> RedisExecutor:
    datadir.mkdir(parents=True, exist_ok=True)
    port = get_port(None)
    assert port is not None
    executor = RedisExecutor(
        executable=executable,
        databases=4,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=port,
        datadir=datadir,
    )
    executor.start()
    return executor


def _client(executor: RedisExecutor) -> redis.Redis:
    return redis.Redis(host=executor.host, port=executor.port)


@pytest.fixture
def servers(redis_proc, tmp_path: Path) -> Iterator[list[RedisExecutor]]:  # type: ignore[no-untyped-def]
    started: list[RedisExecutor] = []

    def start(name: str) -> RedisExecutor:
        executor = _start(redis_proc.executable, tmp_path / name)
        started.append(executor)
        return executor

    yield start  # type: ignore[misc]
    for executor in reversed(started):
        executor.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER"):
        monkeypatch.delenv(name, raising=False)
    rqjobs.reset_redis()
    yield monkeypatch
    rqjobs.reset_redis()


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    return text


def test_a_read_only_replica_raises_readonly_with_the_fix(servers, clean_env) -> None:  # type: ignore[no-untyped-def]
    primary = servers("primary")
    replica = servers("replica")
    replica_client = _client(replica)
    replica_client.replicaof(primary.host, primary.port)
    deadline = time.monotonic() + 20
    while replica_client.info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica never synced"
        time.sleep(0.05)
    url = f"redis://{replica.host}:{replica.port}/0"
    clean_env.setenv("REDIS_URL", url)

    with pytest.raises(RedisReadOnly) as caught:
        rqjobs.enqueue("default", "runtime_jobs.record", "x")
    text = _one_line(caught.value)
    print(f"\n[READONLY] {text}")
    assert text == (
        f"Redis at {url} refused the write: it is a read-only replica (READONLY); "
        "point REDIS_URL at the primary"
    )
    error = caught.value
    assert error.cause == "READONLY"
    # Still what redis-py raised before, so existing except clauses keep matching.
    assert isinstance(error, RedisRefused)
    assert isinstance(error, redis.exceptions.ReadOnlyError)
    assert isinstance(error.__cause__, redis.exceptions.ReadOnlyError)
    # The RQ path (depends_on: WATCH/MULTI/EXEC) says the same.
    with pytest.raises(RedisReadOnly):
        rqjobs.enqueue("default", "runtime_jobs.record", "y", depends_on="no-such-job")
    # Nothing was written on the primary.
    assert _client(primary).dbsize() == 0


def test_out_of_memory_raises_oom_with_the_fix(servers, clean_env) -> None:  # type: ignore[no-untyped-def]
    server = servers("oom")
    client = _client(server)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", "1mb")
    filled = 0
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        for index in range(10_000):  # 10 KB values: full long before 100 MB
            client.set(f"filler:{index}", b"x" * 10_000)
            filled += 1
    url = f"redis://{server.host}:{server.port}/0"
    clean_env.setenv("REDIS_URL", url)

    with pytest.raises(RedisOutOfMemory) as caught:
        rqjobs.enqueue("default", "runtime_jobs.record", "x")
    text = _one_line(caught.value)
    print(f"\n[OOM] after {filled} filler keys: {text}")
    assert text == (
        f"Redis at {url} refused the write: it is out of memory (OOM, maxmemory reached); "
        "raise maxmemory or free memory"
    )
    assert caught.value.cause == "OOM"
    assert isinstance(caught.value, redis.exceptions.OutOfMemoryError)
    assert client.llen("rq:queue:default") == 0


def test_an_acl_user_without_evalsha_raises_noperm_without_the_password(
    servers,  # type: ignore[no-untyped-def]
    clean_env,
) -> None:
    server = servers("acl")
    _client(server).acl_setuser(
        "limited",
        enabled=True,
        passwords=[f"+{PASSWORD}"],
        keys=["*"],
        commands=["+@all", "-evalsha", "-eval"],
    )
    url = f"redis://limited:{PASSWORD}@{server.host}:{server.port}/0"
    shown = f"redis://limited:***@{server.host}:{server.port}/0"
    clean_env.setenv("REDIS_URL", url)
    assert rqjobs.get_redis().ping() is True  # the user may connect and PING

    with pytest.raises(RedisNoPermission) as caught:
        rqjobs.enqueue("default", "runtime_jobs.record", "x")
    text = _one_line(caught.value)
    print(f"\n[NOPERM] {text}")
    assert PASSWORD not in text
    assert text.startswith(
        f"Redis at {shown} refused EVALSHA: the ACL user may not run EVALSHA (NOPERM); grant"
    )
    assert "+@scripting" in text
    assert caught.value.cause == "NOPERM"
    assert caught.value.command == "EVALSHA"
    assert isinstance(caught.value, redis.exceptions.NoPermissionError)
    # enqueue_with_dedupe runs a script too: same error, same message.
    with pytest.raises(RedisNoPermission):
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "x", dedupe_key="acl:1")


def test_translate_redis_error_keeps_other_errors_and_maps_unavailable() -> None:
    other = redis.exceptions.ResponseError("WRONGTYPE Operation against a key")
    assert translate_redis_error(other) is other
    watch = redis.exceptions.WatchError("watched")
    assert translate_redis_error(watch) is watch
    value = ValueError("x")
    assert translate_redis_error(value) is value
    refused = translate_redis_error(
        redis.exceptions.ConnectionError("Error 111 connecting"), "redis://h:1/0"
    )
    assert type(refused) is RedisUnavailable
    assert str(refused).startswith("Redis at redis://h:1/0 is unavailable: ConnectionError")
    timed_out = translate_redis_error(redis.exceptions.TimeoutError("t"), "redis://h:1/0")
    assert isinstance(timed_out, RedisTimedOut)
    assert isinstance(timed_out, redis.exceptions.TimeoutError)
    assert translate_redis_error(timed_out) is timed_out
    misconf = translate_redis_error(
        redis.exceptions.ResponseError("MISCONF Redis is configured to save RDB snapshots"),
        "redis://h:1/0",
    )
    assert isinstance(misconf, RedisRefused) and misconf.cause == "MISCONF"
    busy = translate_redis_error(
        redis.exceptions.ResponseError("BUSY Redis is busy running a script."), "redis://h:1/0"
    )
    assert isinstance(busy, RedisRefused) and busy.cause == "BUSY"
    loading = translate_redis_error(
        redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
        "redis://h:1/0",
    )
    # LOADING stays a ConnectionError (as redis-py's BusyLoadingError) and RedisUnavailable.
    assert isinstance(loading, RedisRefused) and loading.cause == "LOADING"
    assert isinstance(loading, RedisUnavailable)
    assert isinstance(loading, redis.exceptions.BusyLoadingError)
