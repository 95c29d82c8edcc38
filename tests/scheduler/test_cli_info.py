"""``rqjobs info``: queues and workers as ``rq info`` shows them, against a real Redis and a
real ``rqjobs worker`` subprocess (issue 15, item 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue

RQJOBS = str(Path(sys.executable).with_name("rqjobs"))
WORKER_NAME = "info-worker-1"

TASKS = """\
from rq import get_current_job


def wait_for_release(key):
    job = get_current_job()
    job.connection.blpop(key, timeout=60)
    return key
"""


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQJOBS_", "REDIS_URL"))}
    env.pop("PYTHONPATH", None)
    env.pop("SERVICE_ROLE", None)
    env["REDIS_URL"] = url
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _info(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RQJOBS, "info", *args],
        cwd=cwd,
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _info_json(cwd: Path, url: str, *args: str) -> dict[str, Any]:
    done = _info(cwd, url, "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "infoapp").mkdir()
    (tmp_path / "infoapp" / "__init__.py").write_text("")
    (tmp_path / "infoapp" / "tasks.py").write_text(TASKS)
    return tmp_path


@pytest.fixture
def worker(app: Path, redis_url: str, redis_conn: Any) -> Iterator[subprocess.Popen[str]]:
    """``rqjobs worker alpha beta -n info-worker-1``, started from the app folder."""
    redis_conn.flushall()
    proc = subprocess.Popen(
        [RQJOBS, "worker", "alpha", "beta", "-n", WORKER_NAME],
        cwd=app,
        env=_env(redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    redis_conn.rpush("info:release", "go", "go")  # let a waiting job finish
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_for(cwd: Path, url: str, predicate: Any, *args: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        body = _info_json(cwd, url, *args)
        if predicate(body):
            return body
        assert time.monotonic() < deadline, f"not seen within {timeout}s: {body}"
        time.sleep(0.2)


def _ours(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in body.get("workers", []) if row["name"] == WORKER_NAME]


def test_the_worker_appears_with_its_queues_and_current_job(
    app: Path, redis_url: str, redis_conn: Any, worker: subprocess.Popen[str]
) -> None:
    body = _wait_for(app, redis_url, lambda b: _ours(b))
    (row,) = _ours(body)
    assert row["queues"] == ["alpha", "beta"]
    assert row["state"] == "idle" and row["current_job"] is None
    assert row["last_heartbeat"] and row["seconds_since_heartbeat"] < 30
    assert row["pid"] == worker.pid
    assert set(body) == {"queues", "workers"}

    job = Queue("alpha", connection=redis_conn).enqueue(
        "infoapp.tasks.wait_for_release", "info:release"
    )
    body = _wait_for(app, redis_url, lambda b: any(r["current_job"] == job.id for r in _ours(b)))
    (row,) = _ours(body)
    assert row["state"] == "busy"
    assert body["queues"]["alpha"]["started"] == 1

    text = _info(app, redis_url)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split()[:2] == ["queue", "queued"]
    header = next(line for line in lines if line.startswith("worker "))
    assert header.split() == ["worker", "state", "queues", "current", "job", "last", "heartbeat"]
    (ours,) = [line for line in lines if line.startswith(WORKER_NAME)]
    assert ours.split()[:4] == [WORKER_NAME, "busy", "alpha,beta", job.id]
    assert "1 worker(s)" in lines and lines[-1].startswith("Updated: ")

    # Queue filters, --only-queues / --only-workers.
    assert _ours(_info_json(app, redis_url, "beta"))
    assert _info_json(app, redis_url, "-W", "elsewhere") == {"workers": []}
    only_queues = _info_json(app, redis_url, "--only-queues", "alpha")
    assert set(only_queues) == {"queues"} and set(only_queues["queues"]) == {"alpha"}
    by_queue = _info_json(app, redis_url, "--by-queue", "alpha", "beta", "gamma")
    assert by_queue["by_queue"] == {"alpha": [WORKER_NAME], "beta": [WORKER_NAME], "gamma": []}
    by_queue_text = _info(app, redis_url, "-R", "alpha", "gamma").stdout.splitlines()
    assert f"alpha: {WORKER_NAME}" in by_queue_text and "gamma: (no workers)" in by_queue_text
    only_workers = _info(app, redis_url, "--only-workers")
    assert only_workers.returncode == 0
    assert "queue " not in only_workers.stdout and WORKER_NAME in only_workers.stdout


def test_the_worker_leaves_the_list_when_it_stops(
    app: Path, redis_url: str, worker: subprocess.Popen[str]
) -> None:
    _wait_for(app, redis_url, lambda b: _ours(b), "-W")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert _ours(_info_json(app, redis_url, "-W")) == []


def test_interval_refreshes_until_sigint_and_exits_cleanly(
    app: Path, redis_url: str, worker: subprocess.Popen[str]
) -> None:
    _wait_for(app, redis_url, lambda b: _ours(b), "-W")
    proc = subprocess.Popen(
        [RQJOBS, "info", "--interval", "0.2"],
        cwd=app,
        env=_env(redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    updates = 0
    seen_worker = 0
    deadline = time.monotonic() + 30
    while updates < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(WORKER_NAME):
            seen_worker += 1
        if line.startswith("Updated: "):
            updates += 1
    proc.send_signal(signal.SIGINT)
    try:
        status = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert updates >= 2 and seen_worker >= 2
    assert status == 0, stderr
    assert "Traceback" not in stderr and stderr.strip() == ""


def test_interval_json_prints_a_line_per_refresh(
    app: Path, redis_url: str, worker: subprocess.Popen[str]
) -> None:
    _wait_for(app, redis_url, lambda b: _ours(b), "-W")
    proc = subprocess.Popen(
        [RQJOBS, "info", "--json", "-i", "0.2", "-W"],
        cwd=app,
        env=_env(redis_url),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    second = json.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert _ours(first) and _ours(second)


def test_url_flag_wins_over_redis_url(
    app: Path, redis_url: str, worker: subprocess.Popen[str]
) -> None:
    _wait_for(app, redis_url, lambda b: _ours(b), "-W")
    done = subprocess.run(
        [RQJOBS, "info", "--json", "-u", redis_url],
        cwd=app,
        env=_env("redis://127.0.0.1:1/0"),  # REDIS_URL points nowhere: -u wins
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _ours(json.loads(done.stdout))


def test_exit_codes(app: Path, redis_url: str) -> None:
    down = _info(app, "redis://:hunter2-secret@127.0.0.1:1/0")
    assert down.returncode == 1
    assert down.stdout == "" and len(down.stderr.splitlines()) == 1
    assert down.stderr.startswith("rqjobs: error: ") and "hunter2-secret" not in down.stderr
    both = _info(app, redis_url, "--only-queues", "--only-workers")
    assert both.returncode == 2 and both.stderr.startswith("rqjobs: error: ")
    bad = _info(app, redis_url, "--interval", "0")
    assert bad.returncode == 2 and "must be positive" in bad.stderr
    # Allowed in every role, like stats.
    for role in ("api", "worker", "scheduler", "calls", "all"):
        env = _env(redis_url)
        env["SERVICE_ROLE"] = role
        done = subprocess.run(
            [RQJOBS, "info", "-Q"], cwd=app, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (role, done.stderr)
