"""Helpers for the runtime tests: an RQ worker subprocess, a reply-dropping TCP proxy,
and producer entry points for multi-process tests."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import redis
from port_for import get_port
from pytest_redis.executor import RedisExecutor

HERE = Path(__file__).resolve().parent
RQ_CLI = str(Path(sys.executable).with_name("rq"))


def run_worker(
    url: str,
    queues: list[str],
    *,
    serializer: str = "pickle",
    simple: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``rq worker --burst`` in a subprocess until the queues are empty."""
    serializer_path = {
        "pickle": "rq.serializers.DefaultSerializer",
        "json": "rq.serializers.JSONSerializer",
    }[serializer]  # dotted paths: older RQ 2 CLIs do not know "pickle"/"json"
    command = [RQ_CLI, "worker", "--burst", "-u", url, "-P", str(HERE), "-S", serializer_path]
    command.append("-q")
    if simple:
        command += ["-w", "rq.worker.SimpleWorker"]
    command += queues
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def start_worker(url: str, queues: list[str], *, simple: bool = True) -> subprocess.Popen[str]:
    """Start ``rq worker --burst`` without waiting."""
    command = [RQ_CLI, "worker", "--burst", "-u", url, "-P", str(HERE), "-q"]
    if simple:
        command += ["-w", "rq.worker.SimpleWorker"]
    return subprocess.Popen(
        command + queues, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


class ReplyDroppingProxy:
    """A loopback TCP proxy in front of Redis that can lose one reply.

    After :meth:`drop_reply_to` ``(marker)``, the first client command whose bytes contain
    ``marker`` is forwarded to Redis (which applies it), but Redis's reply is swallowed and
    both connections are closed: exactly what a client sees when a link dies after the
    server did the work.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._marker: bytes | None = None
        self.dropped = 0
        self.connections = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def drop_reply_to(self, marker: bytes) -> None:
        with self._lock:
            self._marker = marker

    def close(self) -> None:
        self._closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            state = {"drop": False}
            threading.Thread(target=self._up, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._down, args=(client, upstream, state), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, state: dict[str, bool]) -> None:
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                with self._lock:
                    if self._marker is not None and self._marker in data:
                        state["drop"] = True
                        self._marker = None
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(upstream)

    def _down(self, client: socket.socket, upstream: socket.socket, state: dict[str, bool]) -> None:
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if state["drop"]:
                    with self._lock:
                        self.dropped += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def race_producer(url: str, queue: str, events: list[str], threads: int) -> None:
    """Deliver ``events`` from ``threads`` threads via ``enqueue_with_dedupe`` (spawned child)."""
    os.environ["REDIS_URL"] = url
    import rqjobs

    rqjobs.reset_redis()
    chunks = [events[i::threads] for i in range(threads)]
    errors: list[BaseException] = []

    def deliver(chunk: list[str]) -> None:
        try:
            for event in chunk:
                rqjobs.enqueue_with_dedupe(
                    queue, "runtime_jobs.record", event, dedupe_key=f"race:{event}"
                )
        except BaseException as exc:  # noqa: BLE001 - reported to the parent below
            errors.append(exc)

    workers = [threading.Thread(target=deliver, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


def crash_producer_main() -> None:
    """``python runtime_support.py crash URL QUEUE``: events on stdin, one ack line per success."""
    url, queue = sys.argv[2], sys.argv[3]
    os.environ["REDIS_URL"] = url
    import rqjobs

    events = sys.stdin.read().split()
    print("ready", flush=True)
    for event in events:
        result = rqjobs.enqueue_with_dedupe(
            queue, "runtime_jobs.record", event, dedupe_key=f"crash:{event}"
        )
        print(f"ack {event} {'job' if result is not None else 'dup'}", flush=True)


def shuffled_deliveries(distinct: int, repeat_share: float, seed: int) -> tuple[list[str], int]:
    """``distinct`` event ids plus ``repeat_share`` of repeats, shuffled."""
    rng = random.Random(seed)
    events = [f"evt{index:06d}" for index in range(distinct)]
    repeats = int(round(len(events) / (1 - repeat_share) * repeat_share))
    deliveries = events + [rng.choice(events) for _ in range(repeats)]
    rng.shuffle(deliveries)
    return deliveries, distinct


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash_producer_main()


def start_private_redis(
    executable: str, datadir: Path, *, password: str | None = None
) -> RedisExecutor:
    """A redis-server of this test alone (pytest-redis's executor), AOF on, fsync always."""
    executor = RedisExecutor(
        executable=executable,
        databases=4,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=get_port(None),
        password=password,
        appendonly="yes",
        datadir=datadir,
    )
    executor.start()
    make_fsync_always(executor)
    return executor


def make_fsync_always(executor: RedisExecutor) -> None:
    """``CONFIG SET appendfsync always`` (the executor has no flag for it; redo after a restart)."""
    client = redis.Redis(host=executor.host, port=executor.port, password=executor.password)
    client.config_set("appendfsync", "always")
    client.close()


# --- rqjobs worker subprocesses that can be SIGKILLed (test_runtime_dedupe_faults.py) -------

RQJOBS_CLI = str(Path(sys.executable).with_name("rqjobs"))


def start_rqjobs_worker(
    url: str,
    queues: list[str],
    *,
    log_path: Path,
    scheduler: bool = True,
    burst: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``rqjobs worker QUEUE...`` in a new session (its pid is the session id).

    The job modules of this folder import (cwd and ``PYTHONPATH``); stdout and stderr go to
    ``log_path`` (appended). The work horse puts itself in its own process group, so kill
    the worker with :func:`kill_session`, not ``os.killpg`` alone.
    """
    command = [RQJOBS_CLI, "worker", *queues]
    command.append("--with-scheduler" if scheduler else "--without-scheduler")
    if burst:
        command.append("--burst")
    full_env = dict(os.environ)
    full_env.pop("SERVICE_ROLE", None)
    full_env["REDIS_URL"] = url
    full_env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(HERE), full_env.get("PYTHONPATH", "")) if part
    )
    full_env.update(env or {})
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=str(HERE),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """``(state, session id)`` of ``pid`` from ``/proc/<pid>/stat``; ``None`` if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()  # state ppid pgrp session ...
    return fields[0], int(fields[3])


def session_members(session_id: int) -> list[int]:
    """Pids of the live (not zombie) processes of session ``session_id``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat is not None and stat[1] == session_id and stat[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def kill_session(session_id: int, *, timeout: float = 15.0) -> list[int]:
    """SIGKILL every process of a session at once (a worker, its horse, its scheduler).

    First SIGSTOP them all, rescanning until every member is stopped (a stopped worker
    cannot fork a new horse), then SIGKILL them all and wait until none is left alive.
    Returns the pids killed. Only processes of that session (the test's own worker) are
    touched.
    """
    import signal
    import time

    deadline = time.monotonic() + timeout
    stopped: set[int] = set()
    while True:
        members = set(session_members(session_id))
        for pid in members - stopped:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        stopped |= members
        frozen = all(
            (stat := _proc_stat(pid)) is None or stat[0] in ("T", "t", "Z", "X")
            for pid in members
        )
        if frozen and set(session_members(session_id)) <= stopped:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.001)
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while session_members(session_id) and time.monotonic() < deadline:
        time.sleep(0.005)
    left = session_members(session_id)
    if left:
        raise RuntimeError(f"processes of session {session_id} still alive after SIGKILL: {left}")
    return sorted(stopped)


def wait_for_worker_pid(
    client: redis.Redis, proc: subprocess.Popen[bytes], *, timeout: float = 60.0
) -> str:
    """Wait until the RQ worker of ``proc`` has registered (``rq:workers``); its key."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker {proc.pid} exited with {proc.returncode} before it started")
        for key in client.smembers("rq:workers"):
            if text(client.hget(key, "pid") or b"") == str(proc.pid):
                return text(key)
        time.sleep(0.02)
    raise RuntimeError(f"worker {proc.pid} did not register within {timeout} s")
