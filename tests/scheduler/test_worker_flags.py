"""``rqjobs worker`` speaks ``rq worker``'s language: every flag against a real Redis and a
real worker process started from an app folder, with no PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

RQJOBS = str(Path(sys.executable).with_name("rqjobs"))

TASKS = """\
import os

from rq import get_current_job
from rq.job import Job
from rq.queue import Queue


class AuditedJob(Job):
    pass


class AuditedQueue(Queue):
    pass


def record(tag):
    job = get_current_job()
    job.connection.hset("flags:runs", tag, f"{os.getpid()}:{type(job).__name__}")
    return tag
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An app folder with a jobs module and an rq settings module (not on sys.path)."""
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "tasks.py").write_text(TASKS)
    return tmp_path


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQJOBS_", "REDIS_URL"))}
    env.pop("PYTHONPATH", None)
    env.pop("SERVICE_ROLE", None)
    env["REDIS_URL"] = url
    env.update(extra)
    return env


def _worker(cwd: Path, url: str, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RQJOBS, "worker", *flags],
        cwd=cwd,
        env=_env(url, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _enqueue(url: str, queue: str, tag: str, serializer: str = "pickle") -> None:
    from rq import Queue
    from rq.serializers import DefaultSerializer, JSONSerializer

    conn = redis.Redis.from_url(url)
    chosen = JSONSerializer if serializer == "json" else DefaultSerializer
    Queue(queue, connection=conn, serializer=chosen).enqueue("myapp.tasks.record", tag)
    conn.close()


def _runs(redis_conn: Any) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in redis_conn.hgetall("flags:runs").items()}


def test_from_the_app_folder_with_no_pythonpath(app: Path, redis_url: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    redis_conn.flushall()
    _enqueue(redis_url, "default", "cwd")
    done = _worker(app, redis_url, "--burst")
    assert done.returncode == 0, done.stderr
    assert "cwd" in _runs(redis_conn)


def test_url_config_module_queues_and_path(
    app: Path, redis_url: str, redis_conn, tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    redis_conn.flushall()
    settings = tmp_path_factory.mktemp("conf")
    (settings / "worker_settings.py").write_text(
        f"REDIS_URL = {redis_url!r}\nQUEUES = ['high']\nRQJOBS_HEARTBEAT_INTERVAL = '2'\n"
    )
    _enqueue(redis_url, "high", "from-config")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    # REDIS_URL points nowhere: -c wins over it; --path finds both modules from another folder.
    done = _worker(
        elsewhere,
        "redis://127.0.0.1:1/0",
        "-c",
        "worker_settings",
        "-P",
        str(settings),
        "-P",
        str(app),
        "--burst",
    )
    assert done.returncode == 0, done.stderr
    assert "from-config" in _runs(redis_conn)
    _enqueue(redis_url, "default", "from-url")
    done = _worker(elsewhere, "redis://127.0.0.1:1/0", "--url", redis_url, "-P", str(app), "-b")
    assert done.returncode == 0, done.stderr
    assert "from-url" in _runs(redis_conn)


def test_serializer_worker_job_and_queue_classes(app: Path, redis_url: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    redis_conn.flushall()
    _enqueue(redis_url, "default", "json", serializer="json")
    done = _worker(app, redis_url, "--burst", "-S", "json")
    assert done.returncode == 0, done.stderr
    assert "json" in _runs(redis_conn)
    _enqueue(redis_url, "default", "simple")
    simple = subprocess.Popen(
        [
            RQJOBS,
            "worker",
            "--burst",
            "-w",
            "rq.worker.SimpleWorker",
            "-j",
            "myapp.tasks.AuditedJob",
            "--queue-class",
            "myapp.tasks.AuditedQueue",
        ],
        cwd=app,
        env=_env(redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = simple.communicate(timeout=120)
    assert simple.returncode == 0, err
    pid, job_class = _runs(redis_conn)["simple"].split(":")
    assert int(pid) == simple.pid  # SimpleWorker: the job ran in the worker process itself
    assert job_class == "AuditedJob"


def test_max_idle_time_and_log_levels(app: Path, redis_url: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    redis_conn.flushall()
    idle = _worker(app, redis_url, "--max-idle-time", "1", "--without-scheduler", "-v")
    assert idle.returncode == 0, idle.stderr
    assert " DEBUG " in idle.stderr
    _enqueue(redis_url, "default", "quiet")
    quiet = _worker(app, redis_url, "--burst", "-q")
    assert quiet.returncode == 0 and " INFO " not in quiet.stderr, quiet.stderr
    spelled = _worker(app, redis_url, "--burst", "--logging_level", "WARNING")
    assert spelled.returncode == 0, spelled.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["-w", "myapp.tasks.record"],
            "--worker-class myapp.tasks.record: not a subclass of BaseWorker",
        ),
        (["-j", "no.such.Job"], "--job-class no.such.Job: cannot import it"),
        (["-S", "no.such.Serializer"], "--serializer no.such.Serializer"),
        (["-c", "no_such_settings"], "-c no_such_settings: cannot import the settings module"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(
    app: Path, redis_url: str, flags: list[str], message: str
) -> None:
    done = _worker(app, redis_url, "--burst", *flags)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert message in done.stderr


def test_every_command_has_version() -> None:
    for command in ("worker", "scheduler", "health", "stats", "role", "dedupe", "exporter"):
        done = subprocess.run(
            [RQJOBS, command, "--version"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and done.stdout.startswith("rqjobs "), (command, done.stderr)
