"""``rqjobs.aio`` in a real FastAPI app served by uvicorn: a paused Redis does not stall it.

The app (written to a temporary folder, served by ``uvicorn`` in a subprocess on a free port)
has an ``async def`` webhook that calls ``await rqjobs.aio.enqueue_with_dedupe(...)``, a
``/ping`` route, and, for the control, the same webhook calling the blocking
``rqjobs.enqueue_with_dedupe(...)`` inside ``async def`` (what RQJ400 flags). Redis is paused
with SIGSTOP for 1.5 s while one webhook request is in flight; ``/ping`` is asked meanwhile.
Run with ``pytest -s`` to see the measured latencies.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
import redis
from port_for import get_port
from prosaas_support import REDIS_SERVER, Proc
from pytest_redis.executor import RedisExecutor
from rqjobs import generate_deterministic_job_id

APP = """
import time

import rqjobs
from fastapi import FastAPI
from rqjobs import aio

app = FastAPI()


@app.get("/ping")
async def ping() -> dict:
    return {"ok": True}


@app.post("/webhook/{event_id}")
async def webhook(event_id: str) -> dict:
    started = time.monotonic()
    job = await aio.enqueue_with_dedupe(
        "webhooks", "fastapi_jobs.handle", event_id, dedupe_key=f"webhook:test:{event_id}"
    )
    return {"job_id": job.id if job else None, "seconds": time.monotonic() - started}


@app.post("/webhook-sync/{event_id}")
async def webhook_sync(event_id: str) -> dict:
    started = time.monotonic()
    job = rqjobs.enqueue_with_dedupe(  # blocking inside async def: the control
        "webhooks", "fastapi_jobs.handle", event_id, dedupe_key=f"webhook:test:{event_id}"
    )
    return {"job_id": job.id if job else None, "seconds": time.monotonic() - started}
"""

PAUSE = 1.5
PING_LIMIT = 0.3  # seconds: a ping on a free loop takes a few milliseconds


class Served:
    def __init__(self, base_url: str, server: RedisExecutor) -> None:
        self.base_url = base_url
        self.server = server
        self.redis = redis.Redis(host=server.host, port=server.port)


@pytest.fixture
def served(tmp_path: Path, procs: Callable[..., Proc]) -> Iterator[Served]:
    """A private Redis (SIGSTOP it freely) and the app under uvicorn, both stopped after."""
    server = RedisExecutor(
        executable=REDIS_SERVER,
        databases=1,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=get_port(None),
        password=None,
        datadir=tmp_path,
    )
    server.start()
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "fastapi_app.py").write_text(APP)
    port = get_port(None)
    env = dict(os.environ)
    for name in ("SERVICE_ROLE", "RQJOBS_QUEUES", "RQJOBS_SERIALIZER", "RQJOBS_CALL_DEADLINE"):
        env.pop(name, None)
    env["REDIS_URL"] = f"redis://{server.host}:{server.port}/0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(app_dir), env.get("PYTHONPATH")) if p)
    argv = [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(app_dir)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = procs(argv, env)
    base_url = f"http://127.0.0.1:{port}"
    until = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base_url}/ping", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.popen.poll() is not None or time.monotonic() > until:
            server.stop()
            pytest.fail(f"uvicorn did not start:\n{proc.output()}")
        time.sleep(0.1)
    served = Served(base_url, server)
    try:
        yield served
    finally:
        served.redis.close()
        try:
            os.kill(server.process.pid, signal.SIGCONT)  # never leave it stopped
        except (OSError, AttributeError):
            pass
        server.stop()


def _pause_during_webhook(served: Served, route: str, event: str) -> dict[str, Any]:
    """SIGSTOP Redis, send one webhook, ping the app for ``PAUSE`` s, SIGCONT; the outcome."""
    pid = served.server.process.pid
    outcome: dict[str, Any] = {}

    def deliver() -> None:
        started = time.monotonic()
        try:
            outcome["response"] = httpx.post(f"{served.base_url}/{route}/{event}", timeout=30)
        except httpx.HTTPError as exc:  # reported by the assertions
            outcome["error"] = exc
        outcome["webhook_seconds"] = time.monotonic() - started

    pings: list[float] = []
    resumed = threading.Event()

    def resume() -> None:
        os.kill(pid, signal.SIGCONT)
        resumed.set()

    # The resume runs on its own timer: a blocked app must not delay it (the control).
    timer = threading.Timer(PAUSE, resume)
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        client.get("/ping")  # the keep-alive connection is open before the pause
        os.kill(pid, signal.SIGSTOP)
        timer.start()
        try:
            sender = threading.Thread(target=deliver)
            sender.start()
            time.sleep(0.1)  # the webhook's EVALSHA is sent and waits for the frozen server
            while not resumed.is_set():
                started = time.monotonic()
                assert client.get("/ping").status_code == 200
                pings.append(time.monotonic() - started)
                resumed.wait(0.05)
        finally:
            timer.join(PAUSE + 1)
            if not resumed.is_set():
                timer.cancel()
                resume()
        sender.join(30)
    outcome["pings"] = pings
    return outcome


def _jobs_of(served: Served, event: str) -> tuple[int, bool]:
    """(times the event's job id is in the queue, its hash exists)."""
    job_id = generate_deterministic_job_id(f"webhook:test:{event}")
    ids = served.redis.lrange("rq:queue:webhooks", 0, -1)
    return ids.count(job_id.encode()), bool(served.redis.exists(f"rq:job:{job_id}"))


@pytest.mark.slow
def test_pings_answer_fast_while_an_aio_webhook_waits_for_a_paused_redis(served: Served) -> None:
    warm = httpx.post(f"{served.base_url}/webhook/warm-1", timeout=10)
    assert warm.status_code == 200 and warm.json()["job_id"], warm.text
    outcome = _pause_during_webhook(served, "webhook", "paused-1")
    pings = outcome["pings"]
    print(
        f"\naio webhook during a {PAUSE:g} s pause: webhook {outcome['webhook_seconds']:.3f} s, "
        f"{len(pings)} pings, max {max(pings) * 1000:.1f} ms, "
        f"mean {sum(pings) / len(pings) * 1000:.1f} ms"
    )
    assert "error" not in outcome, outcome
    response = outcome["response"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job_id"] == generate_deterministic_job_id("webhook:test:paused-1")
    assert outcome["webhook_seconds"] >= PAUSE - 0.3  # it did wait for the frozen server
    assert len(pings) >= 5, pings
    assert max(pings) < PING_LIMIT, pings
    assert _jobs_of(served, "paused-1") == (1, True)
    # The provider's redelivery is a duplicate: still exactly one job.
    again = httpx.post(f"{served.base_url}/webhook/paused-1", timeout=10)
    assert again.status_code == 200 and again.json()["job_id"] is None
    assert _jobs_of(served, "paused-1") == (1, True)
    assert served.redis.llen("rq:queue:webhooks") == 2  # warm-1 and paused-1


@pytest.mark.slow
def test_control_the_blocking_sync_call_inside_async_def_stalls_ping(served: Served) -> None:
    """The same pause with the sync call in the handler: /ping waits for Redis too."""
    warm = httpx.post(f"{served.base_url}/webhook-sync/warm-2", timeout=10)
    assert warm.status_code == 200 and warm.json()["job_id"], warm.text
    outcome = _pause_during_webhook(served, "webhook-sync", "paused-2")
    pings = outcome["pings"]
    print(
        f"\nsync call in async def during a {PAUSE:g} s pause: webhook "
        f"{outcome['webhook_seconds']:.3f} s, {len(pings)} pings, max {max(pings) * 1000:.1f} ms"
    )
    assert "error" not in outcome, outcome
    assert outcome["response"].status_code == 200, outcome["response"].text
    assert max(pings) > 1.0, pings  # the loop was blocked: the ping waited for the pause
    assert _jobs_of(served, "paused-2") == (1, True)


def test_the_app_module_is_what_the_readme_shows() -> None:
    """The README's FastAPI example uses the same call as this app (kept in step)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "await aio.enqueue_with_dedupe(" in readme or "await rqjobs.aio." in readme
