"""The README's Flask, FastAPI and Django examples, run as printed (issue 15: no drift).

Each example is a ```python block right after an ``<!-- example: NAME -->`` marker in
README.md. A block whose first line is ``# some/path.py`` is written to that file of a
throwaway app folder; the others are used where the test says. The apps run in
subprocesses (their own ``sys.path``, no PYTHONPATH; the FastAPI app under a real uvicorn on a
free port), against the session's real Redis, and their jobs are run by a real
``rqjobs worker --burst`` started from the app folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from port_for import get_port
from rqjobs import generate_deterministic_job_id

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RQJOBS = str(Path(sys.executable).with_name("rqjobs"))
UVICORN = str(Path(sys.executable).with_name("uvicorn"))


def examples(name: str) -> list[str]:
    """The code of every block marked ``<!-- example: name -->``, in README order."""
    text = README.read_text(encoding="utf-8")
    found = re.findall(
        rf"<!-- example: {re.escape(name)} -->\n```python\n(.*?)```", text, flags=re.S
    )
    assert found, f"README.md has no <!-- example: {name} --> python block"
    return found


def write_examples(name: str, folder: Path) -> list[Path]:
    """Write the blocks of ``name`` that start with ``# path.py`` to ``folder``."""
    written = []
    for code in examples(name):
        match = re.match(r"# ([\w/]+\.py)\b", code)
        assert match, f"an example {name!r} block does not start with '# path.py': {code[:60]!r}"
        path = folder / match.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
        written.append(path)
    return written


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQJOBS_", "REDIS_URL"))}
    env.pop("SERVICE_ROLE", None)
    env.pop("PYTHONPATH", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def _run(cwd: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=180, check=False
    )


def _python(cwd: Path, script: str, **env: str) -> Any:
    done = _run(cwd, [sys.executable, "-c", textwrap.dedent(script)], **env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


FLASK_CLIENT = """\
import json
from app import app

client = app.test_client()
first = client.post("/webhooks/stripe", json={"id": "evt_1", "type": "charge.succeeded"})
again = client.post("/webhooks/stripe", json={"id": "evt_1", "type": "charge.succeeded"})
other = client.post("/webhooks/stripe", json={"id": "evt_2", "type": "charge.succeeded"})
health = client.get("/api/jobs/health")
metrics = client.get("/api/jobs/metrics")
print(json.dumps({
    "first": [first.status_code, first.get_json()],
    "again": [again.status_code, again.get_json()],
    "other": [other.status_code, other.get_json()],
    "health": [health.status_code, health.get_json()],
    "metrics": [metrics.status_code, metrics.get_data(as_text=True)],
}))
"""


def test_flask_webhook_example(tmp_path: Path, redis_url: str, redis_conn: Any) -> None:
    written = write_examples("flask", tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "app/__init__.py",
        "app/tasks.py",
    }
    answers = _python(tmp_path, FLASK_CLIENT, REDIS_URL=redis_url)
    evt_1 = generate_deterministic_job_id("webhook:stripe:evt_1")
    assert answers["first"] == [202, {"job_id": evt_1, "duplicate": False}]
    assert answers["again"] == [202, {"job_id": evt_1, "duplicate": True}]
    assert answers["other"][1]["job_id"] == generate_deterministic_job_id("webhook:stripe:evt_2")
    status, body = answers["health"]
    assert status in (200, 503) and body["status"] in ("healthy", "degraded", "unhealthy")
    assert body["queues"]["webhooks"]["queued"] == 2
    assert answers["metrics"][0] == 200
    assert 'rq_jobs{queue="webhooks",status="queued"} 2.0' in answers["metrics"][1]
    assert redis_conn.llen("rq:queue:webhooks") == 2

    # The worker, started from the folder that holds app/, as the README says.
    worker = _run(tmp_path, [RQJOBS, "worker", "webhooks", "--burst"], REDIS_URL=redis_url)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert redis_conn.hget(f"rq:job:{evt_1}", "status") == b"finished"
    from rq.job import Job

    assert Job.fetch(evt_1, connection=redis_conn).return_value() == "processed evt_1"
    # After the job finished, a redelivery still names it.
    later = _python(
        tmp_path,
        """\
        import json
        from app import app
        answer = app.test_client().post("/webhooks/stripe", json={"id": "evt_1"})
        print(json.dumps([answer.status_code, answer.get_json()]))
        """,
        REDIS_URL=redis_url,
    )
    assert later == [202, {"job_id": evt_1, "duplicate": True}]


def test_flask_health_example(tmp_path: Path, redis_url: str, redis_conn: Any) -> None:
    (code,) = examples("flask-health")
    (tmp_path / "health_app.py").write_text(code)
    answers = _python(
        tmp_path,
        """\
        import json
        from health_app import app
        client = app.test_client()
        health = client.get("/api/jobs/health")
        app.config["RQJOBS_REQUIRE_SCHEDULER"] = False  # no scheduler in this test
        ready = client.get("/api/jobs/health")
        metrics = client.get("/api/jobs/metrics")
        print(json.dumps([health.status_code, health.get_json(), ready.status_code,
                          metrics.status_code]))
        """,
        REDIS_URL=redis_url,
    )
    status, body, ready, metrics = answers
    assert status == 503 and body["status"] == "unhealthy"  # no scheduler has ticked
    assert "scheduler" in body["error"]
    assert ready == 200 and metrics == 200


# What the README's FastAPI blocks take from elsewhere: the task the webhook names, and the
# import the health two-liner's prose names.
FASTAPI_TASKS = """\
def process_whatsapp_message(payload):
    return f"processed {payload['message_id']}"
"""
FASTAPI_HEALTH_CONTEXT = "\n\nfrom fastapi.responses import JSONResponse\n\n\n"


def test_fastapi_examples(tmp_path: Path, redis_url: str, redis_conn: Any) -> None:
    (webhooks,) = write_examples("fastapi", tmp_path)
    assert webhooks.relative_to(tmp_path).as_posix() == "app/webhooks.py"
    (health,) = examples("fastapi-health")
    with webhooks.open("a") as module:
        module.write(FASTAPI_HEALTH_CONTEXT + health)
    (tmp_path / "app" / "tasks.py").write_text(FASTAPI_TASKS)

    # Served as the README says, from the folder that holds app/.
    port = get_port(None)
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "uvicorn.log"
    argv = [UVICORN, "app.webhooks:app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(
            argv, cwd=tmp_path, env=_env(REDIS_URL=redis_url), stdout=out, stderr=out
        )
    try:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            until = time.monotonic() + 60
            while True:
                try:
                    client.get("/openapi.json")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, log.read_text()
                    assert time.monotonic() < until, log.read_text()
                    time.sleep(0.1)
            delivery = {"message_id": "wa_1", "from": "5511999990000", "text": "hi"}
            first = client.post("/webhooks/baileys", json=delivery)
            again = client.post("/webhooks/baileys", json=delivery)
            health = client.get("/api/jobs/health")
            assert (first.status_code, first.json()) == (200, {"status": "queued"}), log.read_text()
            assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
            job_id = generate_deterministic_job_id("webhook:baileys:wa_1")
            assert redis_conn.lrange("rq:queue:webhooks", 0, -1) == [job_id.encode()]
            body = health.json()
            assert health.status_code == 503 and body["status"] == "unhealthy"  # no scheduler
            assert "scheduler" in body["error"]
            assert body["queues"]["webhooks"]["queued"] == 1

            worker = _run(tmp_path, [RQJOBS, "worker", "webhooks", "--burst"], REDIS_URL=redis_url)
            assert worker.returncode == 0, worker.stdout + worker.stderr
            assert redis_conn.hget(f"rq:job:{job_id}", "status") == b"finished"
            from rq.job import Job

            assert Job.fetch(job_id, connection=redis_conn).return_value() == "processed wa_1"
            # Finished inside the window: a redelivery is still a duplicate.
            later = client.post("/webhooks/baileys", json=delivery)
            assert (later.status_code, later.json()) == (200, {"status": "duplicate"})
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


DJANGO_SETTINGS = """\
SECRET_KEY = "test-only"
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django_rq"]
DATABASES = {{}}
ROOT_URLCONF = "project_urls"
RQ_QUEUES = {{"default": {{"HOST": "{host}", "PORT": {port}, "DB": 0}}}}
USE_TZ = True
"""

# What the README's two lines take from their module: the imports and urlpatterns.
DJANGO_URLS_CONTEXT = """\
import rqjobs
from django.http import JsonResponse
from django.urls import path

urlpatterns = []
"""

DJANGO_JOBS = """\
def process_stripe_webhook_job(event_id):
    return f"processed {event_id}"
"""


def test_django_examples(tmp_path: Path, redis_proc: Any, redis_conn: Any) -> None:
    (tmp_path / "project_settings.py").write_text(
        DJANGO_SETTINGS.format(host=redis_proc.host, port=redis_proc.port)
    )
    (health,) = examples("django-health")
    (tmp_path / "project_urls.py").write_text(DJANGO_URLS_CONTEXT + health)
    (tmp_path / "stripe_jobs.py").write_text(DJANGO_JOBS)
    (recipe,) = examples("django-rq")
    producer = (
        "import json\n"
        "import django\n"
        "django.setup()\n"
        "from stripe_jobs import process_stripe_webhook_job\n"
        "event = {'id': 'evt_dj_1'}\n"
        # The recipe twice: the redelivery is a duplicate of the first job.
        f"{recipe}{recipe}"
        "from django.test import Client\n"
        "answer = Client().get('/api/jobs/health')\n"
        "print(json.dumps([answer.status_code, json.loads(answer.content)]))\n"
    )
    # No REDIS_URL anywhere: rqjobs finds Redis through django-rq's RQ_QUEUES.
    done = _run(
        tmp_path, [sys.executable, "-c", producer], DJANGO_SETTINGS_MODULE="project_settings"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    status, body = json.loads(done.stdout.strip().splitlines()[-1])
    assert status in (200, 503) and body["queues"]["default"]["queued"] == 1
    job_id = generate_deterministic_job_id("webhook:stripe:evt_dj_1")
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [job_id.encode()]
    assert redis_conn.hget("rqjobs:counters:dedupe_hits", "default") == b"1"

    worker = _run(tmp_path, [RQJOBS, "worker", "--django", "project_settings", "--burst"])
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert redis_conn.hget(f"rq:job:{job_id}", "status") == b"finished"


@pytest.mark.parametrize(
    "name", ["flask", "flask-health", "fastapi", "fastapi-health", "django-rq", "django-health"]
)
def test_every_marked_example_parses(name: str) -> None:
    for code in examples(name):
        compile(code, f"README.md <!-- example: {name} -->", "exec")
