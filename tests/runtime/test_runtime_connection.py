"""get_redis / reset_redis / redact_url / settings: caching, options, fork, secrets."""

from __future__ import annotations

import multiprocessing
import os

import pytest
import redis
import rqjobs
from redis.retry import Retry
from rqjobs import settings
from rqjobs.connection import default_options
from rqjobs.errors import ConfigurationError, RedisUnavailable


def test_get_redis_is_cached_and_talks_to_redis_url(rqjobs_env: str) -> None:
    client = rqjobs.get_redis()
    assert client is rqjobs.get_redis()
    assert client.ping() is True
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["port"] == int(rqjobs_env.rsplit(":", 1)[1].split("/")[0])


def test_distinct_options_get_distinct_clients(rqjobs_env: str) -> None:
    raw = rqjobs.get_redis()
    text = rqjobs.get_redis(decode_responses=True)
    assert text is not raw
    assert text is rqjobs.get_redis(decode_responses=True)
    raw.set("rqjobs-test:k", "v")
    assert raw.get("rqjobs-test:k") == b"v"
    assert text.get("rqjobs-test:k") == "v"
    named = rqjobs.get_redis(client_name="rqjobs-tests")
    assert named.client_getname() == "rqjobs-tests"


def test_timeouts_and_retry_policy_are_explicit(rqjobs_env: str) -> None:
    kwargs = rqjobs.get_redis().connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == settings.DEFAULT_SOCKET_TIMEOUT
    assert kwargs["socket_connect_timeout"] == settings.DEFAULT_SOCKET_CONNECT_TIMEOUT
    retry = kwargs["retry"]
    assert isinstance(retry, Retry)
    # redis-py 5.3 has no Retry.get_retries(); the attribute is the same on every version.
    assert retry._retries == settings.DEFAULT_RETRIES
    # No health-check PING: redis-py retries it inside every command retry (82 s per call
    # against a silent server); a stale connection fails the command, which is re-sent.
    assert default_options()["health_check_interval"] == 0
    # A caller's option wins over the default.
    custom = rqjobs.get_redis(socket_timeout=1.5).connection_pool.connection_kwargs
    assert custom["socket_timeout"] == 1.5


def test_retries_and_timeouts_come_from_the_environment(
    rqjobs_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQJOBS_RETRIES", "1")
    monkeypatch.setenv("RQJOBS_SOCKET_TIMEOUT", "2.5")
    rqjobs.reset_redis()
    kwargs = rqjobs.get_redis().connection_pool.connection_kwargs
    assert kwargs["retry"]._retries == 1
    assert kwargs["socket_timeout"] == 2.5
    monkeypatch.setenv("RQJOBS_RETRIES", "many")
    rqjobs.reset_redis()
    with pytest.raises(ValueError, match="RQJOBS_RETRIES"):
        rqjobs.get_redis()


def test_reset_redis_closes_and_forgets(rqjobs_env: str) -> None:
    first = rqjobs.get_redis()
    first.ping()
    queue = rqjobs.get_queue("default")
    rqjobs.reset_redis()
    second = rqjobs.get_redis()
    assert second is not first
    assert rqjobs.get_queue("default") is not queue
    assert rqjobs.get_queue("default").connection is second
    assert second.ping() is True


def test_redis_url_default_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert settings.redis_url() == settings.DEFAULT_REDIS_URL == "redis://localhost:6379/0"
    monkeypatch.setenv("REDIS_URL", "  ")
    assert settings.redis_url() == settings.DEFAULT_REDIS_URL
    monkeypatch.setenv("REDIS_URL", "rediss://cache.example:6380/2")
    assert settings.redis_url() == "rediss://cache.example:6380/2"


def _child_uses_client(url: str, result: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    # Runs in a forked child: the parent's cached client is inherited in memory.
    client = rqjobs.get_redis()
    client.hset("rqjobs-test:fork", "child", os.getpid())
    pool_pid = client.connection_pool.pid
    result.put((pool_pid, os.getpid(), client.connection_pool.connection_kwargs["port"]))


def test_get_redis_after_fork_builds_a_new_client(rqjobs_env: str) -> None:
    parent = rqjobs.get_redis()
    parent.ping()  # the parent holds an open connection the child must not reuse
    context = multiprocessing.get_context("fork")
    result: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    child = context.Process(target=_child_uses_client, args=(rqjobs_env, result))
    child.start()
    pool_pid, child_pid, port = result.get(timeout=30)
    child.join(30)
    assert child.exitcode == 0
    assert pool_pid == child_pid != os.getpid()
    assert int(parent.hget("rqjobs-test:fork", "child")) == child_pid
    # The parent's client still works after the child used (and dropped) its own.
    assert rqjobs.get_redis() is parent
    assert parent.ping() is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:s3cret@host:6379/0", "redis://user:***@host:6379/0"),
        ("rediss://default:p%40ss@h.example:6380/1", "rediss://default:***@h.example:6380/1"),
        ("redis://s3cret@host/0", "redis://***@host/0"),
        ("redis://host:6379/0?password=s3cret&db=1", "redis://host:6379/0?password=***&db=1"),
        ("unix://:s3cret@/tmp/redis.sock?db=0", "unix://:***@/tmp/redis.sock?db=0"),
        ("rediss://h:6380/0?ssl_password=s3cret", "rediss://h:6380/0?ssl_password=***"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    redacted = rqjobs.redact_url(url)
    assert redacted == expected
    assert "s3cret" not in redacted and "p%40ss" not in redacted


def test_url_secrets_lists_every_password_in_the_url() -> None:
    from rqjobs.connection import url_secrets

    url = "rediss://user:pw1@h:6380/0?ssl_password=pw2&password=pw3&db=1"
    assert sorted(url_secrets(url)) == ["pw1", "pw2", "pw3"]
    assert url_secrets("redis://pw4@h/0") == ["pw4"]
    assert url_secrets("redis://h:6379/0?db=2") == []


def test_malformed_url_is_a_clear_error_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "htp://:hunter2@localhost:6379/0")
    rqjobs.reset_redis()
    with pytest.raises(ConfigurationError) as caught:
        rqjobs.get_redis()
    assert isinstance(caught.value, ValueError)
    assert "REDIS_URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)
    rqjobs.reset_redis()


def test_unreachable_redis_raises_redis_unavailable_without_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from port_for import get_port

    monkeypatch.setenv("REDIS_URL", f"redis://:hunter2@127.0.0.1:{get_port(None)}/0")
    monkeypatch.setenv("RQJOBS_RETRIES", "1")
    rqjobs.reset_redis()
    with pytest.raises(RedisUnavailable) as caught:
        rqjobs.enqueue("default", "runtime_jobs.record", "x")
    assert isinstance(caught.value, redis.exceptions.ConnectionError)
    message = str(caught.value)
    assert "hunter2" not in message and "***" in message
    rqjobs.reset_redis()


def test_unix_socket_url(redis_proc, redis_conn, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REDIS_URL", f"unix://{redis_proc.unixsocket}?db=0")
    rqjobs.reset_redis()
    try:
        job = rqjobs.enqueue("default", "runtime_jobs.record", "over-unix")
        assert redis_conn.lrange("rq:queue:default", 0, -1) == [job.id.encode()]
    finally:
        rqjobs.reset_redis()


def test_password_never_appears_in_errors(
    redis_proc,  # type: ignore[no-untyped-def]
    tmp_path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runtime_support import start_private_redis

    server = start_private_redis(redis_proc.executable, tmp_path, password="right-pass-123")
    try:
        base = f"{server.host}:{server.port}/0"
        monkeypatch.setenv("REDIS_URL", f"redis://:wrong-pass-456@{base}")
        monkeypatch.setenv("RQJOBS_RETRIES", "0")
        rqjobs.reset_redis()
        with pytest.raises(redis.exceptions.RedisError) as caught:
            rqjobs.enqueue("default", "runtime_jobs.record", "x")
        assert "wrong-pass-456" not in str(caught.value)
        assert "wrong-pass-456" not in repr(caught.value)
        monkeypatch.setenv("REDIS_URL", f"redis://:right-pass-123@{base}")
        rqjobs.reset_redis()
        job = rqjobs.enqueue("default", "runtime_jobs.record", "x")
        assert rqjobs.get_redis().llen("rq:queue:default") == 1 and job.id
        shown = rqjobs.redact_url(settings.redis_url())
        assert "right-pass-123" not in shown and shown == f"redis://:***@{base}"
    finally:
        rqjobs.reset_redis()
        server.stop()
