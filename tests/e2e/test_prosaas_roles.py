"""SERVICE_ROLE in the migrated app: what each role mounts and starts, and what it refuses.

Issue test 5: with ``SERVICE_ROLE=api`` the legacy reminder starter raises and no background
thread starts; the worker role serves no HTTP routes; an unknown role stops start-up with a
clear message (in this process and in real gunicorn / ``rqjobs`` subprocesses).
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from prosaas_support import APP_ROOT, REPO, app_env, console_script

VALID_ROLES = "api, worker, scheduler, calls, all"


def routes(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, env=env, cwd=str(REPO), capture_output=True, text=True, timeout=60, check=False
    )


def test_api_role_starts_no_thread_and_the_legacy_starter_raises(prosaas_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from prosaas.factory import create_app
    from prosaas.realtime import start_call_event_thread
    from prosaas.services.reminder_scheduler import start_reminder_scheduler
    from rqjobs import RoleViolation

    monkeypatch.setenv("SERVICE_ROLE", "api")
    before = set(threading.enumerate())
    app = create_app()
    assert "/webhook/whatsapp/incoming" in routes(app)
    assert "/api/jobs/health" in routes(app)

    with pytest.raises(RuntimeError, match=r"^Deprecated - use scheduler service$"):
        start_reminder_scheduler()
    with pytest.raises(RoleViolation, match="realtime_threads"):
        start_call_event_thread()
    # Serving requests does not start anything either.
    assert app.test_client().get("/api/leads/1").status_code == 404
    assert set(threading.enumerate()) == before


def test_calls_role_runs_the_realtime_thread(redis_url) -> None:  # type: ignore[no-untyped-def]
    # In a subprocess: the drain thread runs for the life of the process.
    code = (
        "import threading\n"
        "from prosaas import realtime\n"
        "from prosaas.factory import create_app\n"
        "create_app()\n"
        "realtime.publish_call_event({'call_sid': 'CA1', 'status': 'ringing'})\n"
        "realtime.call_events.join()\n"  # the thread drained it
        "print(sorted(t.name for t in threading.enumerate()))\n"
    )
    calls = run([sys.executable, "-c", code], app_env(redis_url, SERVICE_ROLE="calls"))
    assert calls.returncode == 0, calls.stderr
    assert calls.stdout.strip() == "['MainThread', 'call-events']"
    assert "call event {'call_sid': 'CA1', 'status': 'ringing'}" in calls.stderr


def test_scheduler_role_serves_only_the_health_endpoints(prosaas_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from prosaas.factory import create_app

    monkeypatch.setenv("SERVICE_ROLE", "scheduler")
    before = set(threading.enumerate())
    assert routes(create_app()) == {"/api/jobs/health", "/api/jobs/metrics"}
    assert set(threading.enumerate()) == before


def test_worker_role_serves_no_http(prosaas_env, monkeypatch, redis_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from prosaas.factory import create_app
    from rqjobs import RoleViolation

    monkeypatch.setenv("SERVICE_ROLE", "worker")
    with pytest.raises(RoleViolation, match="serves no HTTP routes.*rqjobs worker"):
        create_app()

    # The WSGI server refuses to boot in a worker container...
    gunicorn = run(
        [console_script("gunicorn"), "--bind", "127.0.0.1:0", "prosaas.wsgi:app"],
        app_env(redis_url, SERVICE_ROLE="worker", HOME=str(tmp_path)),
    )
    assert gunicorn.returncode != 0
    assert "SERVICE_ROLE='worker' serves no HTTP routes" in gunicorn.stdout + gunicorn.stderr
    # ...and an api container refuses to run a worker.
    worker = run(
        [console_script("rqjobs"), "worker", "webhooks", "--burst"],
        app_env(redis_url, SERVICE_ROLE="api"),
    )
    assert worker.returncode != 0
    assert "Traceback" not in worker.stderr
    assert "api" in worker.stderr and "worker" in worker.stderr


def test_unknown_role_stops_start_up_with_the_valid_roles(
    prosaas_env, monkeypatch, redis_url
) -> None:  # type: ignore[no-untyped-def]
    from prosaas.factory import create_app

    monkeypatch.setenv("SERVICE_ROLE", "web")
    with pytest.raises(
        ValueError, match=f"SERVICE_ROLE='web' is not valid; use one of: {VALID_ROLES}"
    ):
        create_app()

    env = app_env(redis_url, SERVICE_ROLE="web")
    wsgi = run([sys.executable, "-c", "import prosaas.wsgi"], env)
    assert wsgi.returncode == 1
    assert (
        wsgi.stderr.strip()
        .splitlines()[-1]
        .endswith(f"SERVICE_ROLE='web' is not valid; use one of: {VALID_ROLES}")
    )
    for argv in (
        [console_script("rqjobs"), "worker", "--burst"],
        [console_script("rqjobs"), "scheduler", "--schedule", "prosaas.schedule:SCHEDULE"],
    ):
        refused = run(argv, env)
        assert refused.returncode != 0, argv
        assert "Traceback" not in refused.stderr, refused.stderr
        assert "web" in refused.stderr and VALID_ROLES in refused.stderr, refused.stderr
    assert str(APP_ROOT) == env["PYTHONPATH"]
