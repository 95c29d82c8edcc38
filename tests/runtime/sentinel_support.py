"""A real Sentinel deployment on loopback for the Sentinel tests and the WAIT benchmark.

One primary, two replicas that replicate THROUGH loopback proxies the test can freeze
(the replication links stall, TCP stays up: the replicas fall behind without noticing),
and three sentinels (quorum 2, down-after 1 s). Every process is a real ``redis-server``
started with ``--dir`` in a temporary folder; :meth:`SentinelCluster.kill_primary` sends
SIGKILL. Also: the job the worker runs (it appends one line per run to a file) and the
producer processes (``python sentinel_support.py produce ...``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import redis

HERE = Path(__file__).resolve().parent
SERVICE = "mymaster"
DOWN_AFTER_MS = 1000


def redis_server() -> str:
    return (
        os.environ.get("RQJOBS_TEST_REDIS_SERVER")
        or shutil.which("redis-server")
        or ("redis-server")
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (redis.RedisError, OSError):
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


class FreezableProxy:
    """A loopback TCP proxy; :meth:`freeze` stops forwarding bytes both ways (links stay up)."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.frozen.set()

    def thaw(self) -> None:
        self.frozen.clear()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                while self.frozen.is_set() and not self._closed:
                    time.sleep(0.005)
                data = source.recv(65536)
                if not data:
                    break
                while self.frozen.is_set() and not self._closed:
                    time.sleep(0.005)  # read just before the freeze: hold it too
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


class SentinelCluster:
    """Primary + replica (through a :class:`FreezableProxy`) + 3 sentinels, all real."""

    def __init__(
        self, workdir: Path, *, replicas: int = 2, sentinels: int = 3, quorum: int = 2
    ) -> None:
        self.workdir = workdir
        self.server = redis_server()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.primary_port = free_port()
        self.replica_ports = [free_port() for _ in range(replicas)]
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self.quorum = quorum
        self.proxies: list[FreezableProxy] = []
        self.master_port = self.primary_port

    def freeze_replication(self) -> None:
        """Cut every replica's link (the proxies stop forwarding; TCP stays up)."""
        for proxy in self.proxies:
            proxy.freeze()

    # -- processes ---------------------------------------------------------------------------

    def _start(self, name: str, args: list[str]) -> None:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / "log.txt", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [self.server, *args, "--dir", str(folder), "--logfile", ""],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    def _data_args(self, port: int) -> list[str]:
        return [
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
        ]  # fmt: skip

    def start(self) -> SentinelCluster:
        self._start("primary", self._data_args(self.primary_port))
        wait_until(lambda: self.client(self.primary_port).ping(), 10, "the primary")
        for index, port in enumerate(self.replica_ports):
            proxy = FreezableProxy(self.primary_port)
            self.proxies.append(proxy)
            self._start(
                f"replica{index}",
                self._data_args(port) + ["--replicaof", "127.0.0.1", str(proxy.port)],
            )
        for port in self.replica_ports:
            wait_until(
                lambda port=port: (
                    self.client(port).info("replication").get("master_link_status") == "up"
                ),
                15,
                "the replicas' links",
            )
        for index, port in enumerate(self.sentinel_ports):
            folder = self.workdir / f"sentinel{index}"
            folder.mkdir(parents=True, exist_ok=True)
            conf = folder / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} {self.quorum}\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self._start(f"sentinel{index}", [str(conf), "--sentinel"])
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20) -> None:
        """Every sentinel sees the primary, its replica and the other sentinels."""

        def ready() -> bool:
            for port in self.sentinel_ports:
                state = self.client(port).sentinel_master(SERVICE)
                if state["num-other-sentinels"] < len(self.sentinel_ports) - 1:
                    return False
                if state["num-slaves"] < len(self.replica_ports) or state["flags"] != "master":
                    return False
            return True

        wait_until(ready, timeout, "the sentinels to see each other and the replica", 0.1)

    def client(self, port: int, **kwargs: Any) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=1, **kwargs
        )

    def url(self, query: str = "", db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}" + (f"?{query}" if query else "")

    def master_address(self) -> Optional[tuple[str, int]]:
        for port in self.sentinel_ports:
            try:
                reply = self.client(port).sentinel_get_master_addr_by_name(SERVICE)
            except (redis.RedisError, OSError):
                continue
            if reply:
                host = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
                return host, int(reply[1])
        return None

    def kill_primary(self) -> float:
        """SIGKILL the primary; returns ``time.time()`` of the kill."""
        proc = self.procs["primary"]
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        return killed_at

    def wait_promotion(self, timeout: float = 30) -> float:
        """Wait until the sentinels name a replica master; ``time.time()`` when seen."""

        def promoted() -> bool:
            address = self.master_address()
            return address is not None and address[1] in self.replica_ports

        wait_until(promoted, timeout, "a replica's promotion", 0.02)
        address = self.master_address()
        assert address is not None
        self.master_port = address[1]
        return time.time()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        for proxy in self.proxies:
            proxy.close()


# -- the job and the producers -------------------------------------------------------------


def record_run(event: str, path: str) -> str:
    """The job: append ``{"event", "enqueued_at", "pid"}`` to ``path`` (one JSON line)."""
    from rq import get_current_job

    job = get_current_job()
    enqueued = job.enqueued_at.isoformat() if job is not None and job.enqueued_at else None
    line = json.dumps({"event": event, "enqueued_at": enqueued, "pid": os.getpid()})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return event


def record_period(path: str) -> None:
    """The periodic job: append ``{"period": period_start, "enqueued_at"}`` to ``path``."""
    from rq import get_current_job

    job = get_current_job()
    meta = job.meta if job is not None else {}
    line = json.dumps({"period": meta.get("period_start"), "pid": os.getpid()})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


PERIOD = 3.0


def storm_schedule() -> Any:
    """``rqjobs scheduler --schedule sentinel_support:storm_schedule``: one job every 3 s."""
    from rqjobs import PeriodicJob, Schedule

    path = os.environ.get("SENTINEL_TEST_PERIODS", os.devnull)
    return Schedule(
        [PeriodicJob("storm-tick", record_period, every=PERIOD, queue="ticks", args=(path,))]
    )


def produce(
    url: str, name: str, events: list[str], rate: float, runs_path: str, out_path: str
) -> None:
    """Deliver every event with ``enqueue_with_dedupe``; re-send each delivery that errored
    (a provider retrying after a 5xx) every 50 ms until it is answered, up to 60 s."""
    os.environ["REDIS_URL"] = url
    import rqjobs
    from rqjobs.errors import RedisUnavailable

    rqjobs.reset_redis()
    interval = 1.0 / rate
    started = time.monotonic()
    with open(out_path, "a", encoding="utf-8") as out:
        for index, event in enumerate(events):
            pause = started + index * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            give_up = time.monotonic() + 60
            errors = 0
            while True:
                sent_at = time.time()
                try:
                    job = rqjobs.enqueue_with_dedupe(
                        "storm",
                        "sentinel_support.record_run",
                        event,
                        runs_path,
                        dedupe_key=f"storm:{event}",
                    )
                except RedisUnavailable as exc:
                    errors += 1
                    out.write(
                        json.dumps({"event": event, "error": type(exc).__name__, "at": sent_at})
                        + "\n"
                    )
                    out.flush()
                    if time.monotonic() > give_up:
                        break
                    time.sleep(0.05)
                    continue
                out.write(
                    json.dumps(
                        {
                            "event": event,
                            "ack": time.time(),
                            "sent": sent_at,
                            "accepted": job is not None,
                            "enqueued_at": job.enqueued_at.isoformat()
                            if job is not None and job.enqueued_at
                            else None,
                            "producer": name,
                        }
                    )
                    + "\n"
                )
                out.flush()
                break


def start_producer(
    url: str, name: str, events: list[str], rate: float, runs: Path, out: Path,
    env: Optional[dict[str, str]] = None,
) -> subprocess.Popen[bytes]:  # fmt: skip
    spec = out.with_suffix(".events.json")
    spec.write_text(json.dumps(events))
    full_env = dict(os.environ)
    full_env.pop("SERVICE_ROLE", None)
    full_env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(HERE), full_env.get("PYTHONPATH", "")) if part
    )
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, str(HERE / "sentinel_support.py"), "produce", url, name, str(spec),
         str(rate), str(runs), str(out)],
        env=full_env, cwd=str(HERE), stdin=subprocess.DEVNULL,
    )  # fmt: skip


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        _, _, url_arg, name_arg, spec_arg, rate_arg, runs_arg, out_arg = sys.argv
        produce(
            url_arg,
            name_arg,
            json.loads(Path(spec_arg).read_text()),
            float(rate_arg),
            runs_arg,
            out_arg,
        )
