"""The ``enqueue_at``/``enqueue_in`` rewrite (RQJ003) keeps working code working: a module
using RQ's ``q.enqueue_in``/``q.enqueue_at`` is fixed by the real ``flake8-rqjobs fix``, then
the fixed module runs against a real Redis and a real ``rqjobs worker --burst`` runs its jobs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.runtime  # the fixed code imports rqjobs and runs on Redis

RQJOBS = str(Path(sys.executable).with_name("rqjobs"))
FLAKE8_RQJOBS = Path(sys.executable).with_name("flake8-rqjobs")

JOBS = '''"""Jobs (run by the worker)."""
from rq import get_current_job


def record(key, amount=1):
    return get_current_job().connection.incrby(key, amount)
'''
APP = '''"""Schedules jobs the way RQ's documentation does."""
import json
import os
from datetime import datetime, timedelta, timezone

from redis import Redis
from rq import Queue

from jobs import record


def schedule_all():
    q = Queue("later", connection=Redis.from_url(os.environ["REDIS_URL"]))
    past = datetime.now(timezone.utc) - timedelta(seconds=5)
    first = q.enqueue_at(past, record, "runs:at", amount=2, job_timeout=30)
    second = q.enqueue_in(timedelta(seconds=0), record, "runs:in")
    return [first.id, second.id]
'''


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_fixed_scheduling_code_runs_on_redis(
    tmp_path: Path, rqjobs_env: str, redis_conn: Any
) -> None:
    (tmp_path / "jobs.py").write_text(JOBS)
    (tmp_path / "app.py").write_text(APP)
    env = dict(os.environ, REDIS_URL=rqjobs_env, PYTHONPATH=str(tmp_path), PYTHONUNBUFFERED="1")
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER"):
        env.pop(name, None)
    fix_command = (
        [str(FLAKE8_RQJOBS)]
        if FLAKE8_RQJOBS.exists()
        else [sys.executable, "-m", "flake8_rqjobs.cli"]
    )
    fixed = _run([*fix_command, "fix", "app.py"], tmp_path, env)
    assert fixed.returncode in (0, 1), fixed.stderr
    text = (tmp_path / "app.py").read_text()
    assert 'enqueue_at("later", past, record, "runs:at", amount=2, job_timeout=30)' in text
    assert 'enqueue_in("later", timedelta(seconds=0), record, "runs:in")' in text
    assert "from rqjobs import enqueue_at, enqueue_in" in text
    assert "Queue(" not in text and "Redis" not in text
    again = _run([*fix_command, "fix", "app.py"], tmp_path, env)
    assert (tmp_path / "app.py").read_text() == text, again.stdout

    scheduled = _run(
        [sys.executable, "-c", "import app, json; print(json.dumps(app.schedule_all()))"],
        tmp_path,
        env,
    )
    assert scheduled.returncode == 0, scheduled.stderr
    ids = json.loads(scheduled.stdout)
    assert redis_conn.zcard("rq:scheduled:later") == 2
    assert all(redis_conn.hget(f"rq:job:{i}", "status") == b"scheduled" for i in ids)
    time.sleep(1.1)  # the enqueue_in(0) job is due at the next whole second
    worker = _run([RQJOBS, "worker", "--burst", "later"], tmp_path, env)
    assert worker.returncode == 0, worker.stderr
    assert redis_conn.get("runs:at") == b"2"
    assert redis_conn.get("runs:in") == b"1"
    assert all(redis_conn.hget(f"rq:job:{i}", "status") == b"finished" for i in ids)
