"""Shared helpers of the end-to-end tests (paths, subprocess environment, process runner).

A plain module with a unique name, so that the tests can import it (pytest puts this
directory on ``sys.path``) without clashing with the other ``conftest`` modules.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[2]


def _root_conftest_redis_server() -> str:
    """The server binary the root conftest picked (loaded by path: both files are "conftest")."""
    spec = importlib.util.spec_from_file_location(
        "_rqjobs_tests_root_conftest", REPO / "tests" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.REDIS_SERVER)


REDIS_SERVER = _root_conftest_redis_server()
EXAMPLE = REPO / "examples" / "prosaas"
APP_ROOT = EXAMPLE / "app"
LEGACY_ROOT = EXAMPLE / "legacy"
BIN = Path(sys.executable).parent
SECRET = "e2e-internal-secret"
QUEUES = "webhooks,calls,notifications,recordings,leads,reminders,default"

# A second server, only for the tests that stop it (or need a password): never the session's.
OWN_REDIS_PASSWORD = "e2e-pa55word"


def console_script(name: str) -> str:
    """Path of an installed console script of this virtualenv (``rqjobs``, ``gunicorn``, ...)."""
    candidate = BIN / name
    if not candidate.exists():
        raise RuntimeError(f"{name} is not installed next to {sys.executable}")
    return str(candidate)


def app_env(redis_url: str, **extra: str) -> dict[str, str]:
    """Environment of an app subprocess: the app on PYTHONPATH, pointed at ``redis_url``."""
    env = dict(os.environ)
    for name in ("SERVICE_ROLE", "RQJOBS_SERIALIZER", "PROSAAS_REMINDER_EVERY"):
        env.pop(name, None)
    env.update(
        PYTHONPATH=str(APP_ROOT),
        REDIS_URL=redis_url,
        RQJOBS_QUEUES=QUEUES,
        INTERNAL_SECRET=SECRET,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Proc:
    """A subprocess whose merged stdout/stderr is collected line by line in a thread."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv = argv
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=str(REPO),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(line for _, line in self.lines)

    def wait_for(
        self, match: Callable[[str], bool], timeout: float, start: int = 0
    ) -> Optional[tuple[int, float, str]]:
        """First (index, monotonic time, line) at or after line ``start`` that ``match`` accepts."""
        deadline = time.monotonic() + timeout
        index = start
        with self._cond:
            while True:
                while index < len(self.lines):
                    stamp, line = self.lines[index]
                    if match(line):
                        return index, stamp, line
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (
                    self.popen.poll() is not None and not self._reader.is_alive()
                ):
                    return None
                self._cond.wait(min(remaining, 0.1))

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit status."""
        if self.popen.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait(5)
        self._reader.join(5)
        return self.popen.returncode


def run_workers(
    redis_url: str, queues: list[str], count: int = 1, timeout: float = 120
) -> list[str]:
    """Run ``count`` real ``rqjobs worker QUEUES --burst`` processes to the end; their outputs."""
    env = app_env(redis_url, SERVICE_ROLE="worker")
    argv = [console_script("rqjobs"), "worker", *queues, "--burst"]
    workers = [
        subprocess.Popen(
            argv,
            env=env,
            cwd=str(REPO),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(count)
    ]
    outputs = []
    for worker in workers:
        out, _ = worker.communicate(timeout=timeout)
        assert worker.returncode == 0, out
        outputs.append(out)
    return outputs


LOCK = re.compile(r"Lock acquired for cycle (\d+) \(holder=")


def start_scheduler(procs, redis_url: str, tick: int, reminder_every: int = 1) -> Proc:  # type: ignore[no-untyped-def]
    """A real ``rqjobs scheduler`` on the app's schedule (reminders every ``reminder_every`` s)."""
    argv = [
        console_script("rqjobs"),
        "scheduler",
        "--schedule",
        "prosaas.schedule:SCHEDULE",
        "--tick",
        str(tick),
    ]
    env = app_env(redis_url, SERVICE_ROLE="scheduler", PROSAAS_REMINDER_EVERY=str(reminder_every))
    return procs(argv, env)


def wait_for_first_lock(schedulers: list[Proc], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(LOCK.search(line) for proc in schedulers for _, line in list(proc.lines)):
        alive = any(proc.popen.poll() is None for proc in schedulers)
        assert alive and time.monotonic() < deadline, [proc.output() for proc in schedulers]
        time.sleep(0.05)
