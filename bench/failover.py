"""Scheduler failover benchmark: rqjobs' per-cycle lock against RQ's built-in scheduler.

Run: ``python bench/failover.py`` (about 15 minutes; ``--quick`` for a short smoke run).
Writes the ``## Scheduler failover`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "runtime"))

import redis  # noqa: E402
from pytest_redis.executor import RedisExecutor  # noqa: E402

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(datadir: Path) -> RedisExecutor:
    """A throwaway redis-server on a free port (pytest-redis' executor)."""
    executor = RedisExecutor(
        executable=os.environ.get("RQJOBS_TEST_REDIS_SERVER", "redis-server"),
        databases=4,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=free_port(),
        datadir=datadir,
    )
    executor.start()
    return executor


def kill_group(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- RQ's built-in scheduler


def rq_builtin_takeover(url: str, workdir: Path, cap: float) -> dict[str, Any]:
    """Two ``rq worker --with-scheduler``; SIGKILL the lock holder's process group and
    time how long until the other worker's scheduler holds ``rq:scheduler-lock:default``."""
    client = redis.Redis.from_url(url, decode_responses=True)
    lock_key = "rq:scheduler-lock:default"
    procs = []
    for i in range(2):
        log = open(workdir / f"rq-worker-{i}.log", "w")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [str(BIN / "rq"), "worker", "--with-scheduler", "-u", url, "-n", f"w{i}"]
                + ["default"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        deadline = time.time() + 60
        holder = None
        while time.time() < deadline:
            holder = client.get(lock_key)
            if holder and client.hget(f"rq:scheduler:{holder}", "pid"):
                break
            time.sleep(0.2)
        if not holder:
            return {"error": "no scheduler took the lock within 60 s"}
        holder_pid = int(client.hget(f"rq:scheduler:{holder}", "pid") or 0)
        victim = next(p for p in procs if os.getpgid(holder_pid) == p.pid)
        # Let the standby settle, as in production (it is already past its start-up).
        time.sleep(5)
        killed_at = time.time()
        kill_group(victim)
        while time.time() - killed_at < cap:
            current = client.get(lock_key)
            if current and current != holder:
                return {"takeover": time.time() - killed_at, "capped": False}
            time.sleep(0.5)
        return {"takeover": cap, "capped": True}
    finally:
        for proc in procs:
            kill_group(proc)
            proc.wait()
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument("--baseline-cap", type=float, default=900.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rqjobs-failover-") as tmp:
        workdir = Path(tmp)
        server = start_redis(workdir)
        try:
            url = f"redis://127.0.0.1:{server.port}/0"
            result = rq_builtin_takeover(url, workdir, args.baseline_cap)
            print(json.dumps(result))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
