"""``rqjobs exporter``: a real process on its own port reports the cluster's metrics."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import rqjobs
from sched_support import subprocess_env

RQJOBS = str(Path(sys.executable).with_name("rqjobs"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


def test_the_exporter_serves_the_cluster_from_its_own_port(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    rqjobs.enqueue("exported", "os.path.join", "a")
    rqjobs.enqueue_with_dedupe("exported", "os.path.join", "b", dedupe_key="exp:1")
    assert rqjobs.enqueue_with_dedupe("exported", "os.path.join", "b", dedupe_key="exp:1") is None
    port = _free_port()
    process = subprocess.Popen(
        [RQJOBS, "exporter", "--host", "127.0.0.1", "--port", str(port)],
        env=subprocess_env(rqjobs_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/metrics")
                break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the exporter never listened"
                time.sleep(0.1)
        assert status == 200
        assert 'rq_jobs{queue="exported",status="queued"} 2.0' in body
        assert 'rqjobs_dedupe_hits_total{queue="exported"} 1.0' in body
        assert "rqjobs_redis_up 1.0" in body
        assert _get(f"http://127.0.0.1:{port}/health") == (200, "ok\n")
        # A second scrape reads Redis again: a new job shows at once.
        rqjobs.enqueue("exported", "os.path.join", "c")
        assert 'rq_jobs{queue="exported",status="queued"} 3.0' in _get(
            f"http://127.0.0.1:{port}/metrics"
        )[1]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def test_a_taken_port_is_one_line_and_exit_1(rqjobs_env: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [RQJOBS, "exporter", "--host", "127.0.0.1", "--port", str(port)],
            env=subprocess_env(rqjobs_env),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("rqjobs: error: cannot listen on")
    assert len(result.stderr.strip().splitlines()) == 1
