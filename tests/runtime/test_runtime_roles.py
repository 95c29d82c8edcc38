"""SERVICE_ROLE, the capability table and the guards."""

from __future__ import annotations

import pytest
import rqjobs
from rqjobs import roles
from rqjobs.errors import RoleViolation


@pytest.fixture(autouse=True)
def _clean_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICE_ROLE", raising=False)


def test_default_role_is_all(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rqjobs.current_role() == "all"
    monkeypatch.setenv("SERVICE_ROLE", " Worker ")
    assert roles.current_role() == "worker"


def test_bad_role_lists_the_valid_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_ROLE", "webserver")
    with pytest.raises(ValueError) as caught:
        roles.current_role()
    for role in roles.ROLES:
        assert role in str(caught.value)
    assert "'webserver'" in str(caught.value)


def test_bad_role_blocks_enqueue_and_writes_nothing(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE_ROLE", "apii")
    with pytest.raises(ValueError, match="SERVICE_ROLE"):
        rqjobs.enqueue("default", "runtime_jobs.record", "x")
    with pytest.raises(ValueError, match="SERVICE_ROLE"):
        rqjobs.enqueue_with_dedupe("default", "runtime_jobs.record", "x", dedupe_key="a:b")
    assert redis_conn.dbsize() == 0


def test_capability_table() -> None:
    table = roles.CAPABILITIES
    assert set(table) == set(roles.ROLES) == {"api", "worker", "scheduler", "calls", "all"}
    assert table["all"] == frozenset(roles.CAPABILITY_NAMES)
    api = table["api"]
    assert {"background_threads", "warmup_threads", "startup_cleanup"}.isdisjoint(api)
    assert "http_server" in api and "scheduler" not in api and "worker" not in api
    assert table["worker"] == {"worker"}
    assert "http_server" not in table["worker"]
    assert "scheduler" in table["scheduler"] and "blueprints" not in table["scheduler"]
    assert "worker" not in table["scheduler"]
    assert "realtime_threads" in table["calls"] and "scheduler" not in table["calls"]
    for role, capabilities in table.items():
        assert capabilities <= set(roles.CAPABILITY_NAMES), role


def test_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_ROLE", "api")
    assert roles.allows("http_server")
    assert not roles.allows("scheduler")
    assert roles.allows("scheduler", role="scheduler")
    with pytest.raises(ValueError, match="unknown capability"):
        roles.allows("cron")


def test_requires_capability(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    @roles.requires_capability("background_threads")
    def start_threads(n: int) -> int:
        calls.append(n)
        return n

    monkeypatch.setenv("SERVICE_ROLE", "api")
    with pytest.raises(RoleViolation) as caught:
        start_threads(1)
    message = str(caught.value)
    assert "start_threads" in message and "'background_threads'" in message and "'api'" in message
    assert "scheduler" in message  # names the roles that have it
    assert calls == []
    monkeypatch.setenv("SERVICE_ROLE", "calls")
    assert start_threads(2) == 2
    monkeypatch.setenv("SERVICE_ROLE", "all")
    assert start_threads(3) == 3
    assert calls == [2, 3]
    with pytest.raises(ValueError):
        roles.requires_capability("nope")


def test_requires_role(monkeypatch: pytest.MonkeyPatch) -> None:
    @rqjobs.requires_role("scheduler")
    def run_scheduler() -> str:
        return "ran"

    monkeypatch.setenv("SERVICE_ROLE", "worker")
    with pytest.raises(RoleViolation, match="run_scheduler.*scheduler.*'worker'"):
        run_scheduler()
    monkeypatch.setenv("SERVICE_ROLE", "scheduler")
    assert run_scheduler() == "ran"
    monkeypatch.setenv("SERVICE_ROLE", "all")
    assert run_scheduler() == "ran"
    with pytest.raises(ValueError):
        rqjobs.requires_role("cron")


def test_deprecated_starter() -> None:
    started = []

    @rqjobs.deprecated_starter
    def start_reminder_scheduler() -> None:
        started.append(1)

    @roles.deprecated_starter(replacement="the rqjobs scheduler service")
    def _start_cleanup_scheduler() -> None:
        started.append(2)

    with pytest.raises(RuntimeError) as caught:
        start_reminder_scheduler()
    assert str(caught.value) == "Deprecated - use scheduler service"
    with pytest.raises(RuntimeError, match="Deprecated - use the rqjobs scheduler service"):
        _start_cleanup_scheduler()
    assert started == []
    assert start_reminder_scheduler.__name__ == "start_reminder_scheduler"
