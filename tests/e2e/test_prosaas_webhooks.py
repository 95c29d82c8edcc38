"""Webhooks of the migrated ProSaaS app: dedupe under repeats and races, and bad input.

Issue tests 1 (the same webhook twice in a row and 50 times concurrently, through a real
gunicorn server) and 7 (malformed JSON, wrong secret, message without id, huge body).
Jobs are executed by real `rqjobs worker` processes; the job functions count their runs in
Redis hashes ``prosaas:processed:<kind>``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import port_for
import pytest
from prosaas_support import SECRET, app_env, console_script, run_workers

WEBHOOK = "/webhook/whatsapp/incoming"


def whatsapp_body(*ids: str | None) -> dict:
    messages = []
    for index, message_id in enumerate(ids):
        message = {"from": f"+1555000{index}", "text": f"hello {index}"}
        if message_id is not None:
            message["id"] = message_id
        messages.append(message)
    return {"messages": messages}


def post(base: str, path: str, body: dict, secret: str = SECRET) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Internal-Secret": secret},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def queued_dedupe_keys(redis_conn, queue: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The ``dedupe_key`` of every job id in the queue's list, in order (repeats kept)."""
    from rq.job import Job

    ids = [raw.decode() for raw in redis_conn.lrange(f"rq:queue:{queue}", 0, -1)]
    return [Job.fetch(job_id, connection=redis_conn).meta["dedupe_key"] for job_id in ids]


def processed(redis_conn, kind: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    raw = redis_conn.hgetall(f"prosaas:processed:{kind}")
    return {key.decode(): int(value) for key, value in raw.items()}


@pytest.fixture
def server(redis_url: str, redis_conn, procs, tmp_path):  # type: ignore[no-untyped-def]
    """The migrated app under gunicorn (2 processes x 8 threads), role ``api``.

    ``HOME`` is a temporary directory: gunicorn 27 puts its control socket there.
    """
    port = port_for.select_random()
    argv = [
        console_script("gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "8",
        "prosaas.wsgi:app",
    ]
    proc = procs(argv, app_env(redis_url, SERVICE_ROLE="api", HOME=str(tmp_path)))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/api/jobs/health", timeout=5)
            break
        except urllib.error.HTTPError:
            break  # 503 (no scheduler yet) still means the server answers
        except OSError:
            assert proc.popen.poll() is None, proc.output()
            assert time.monotonic() < deadline, proc.output()
            time.sleep(0.2)
    return base, proc


def test_same_webhook_twice_then_50_concurrently_runs_once(server, redis_url, redis_conn) -> None:  # type: ignore[no-untyped-def]
    base, proc = server

    # Twice in a row: the provider retried.
    first = post(base, WEBHOOK, whatsapp_body("wamid.ONE"))
    second = post(base, WEBHOOK, whatsapp_body("wamid.ONE"))
    assert first == (200, {"queued": ["wamid.ONE"], "duplicates": []})
    assert second == (200, {"queued": [], "duplicates": ["wamid.ONE"]})

    # 50 deliveries of one message at the same moment, over 16 server threads.
    start = threading.Barrier(50)

    def deliver(_: int) -> tuple[int, dict]:
        start.wait()
        return post(base, WEBHOOK, whatsapp_body("wamid.RACE"))

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(deliver, range(50)))
    assert {status for status, _ in answers} == {200}
    assert sum(len(body["queued"]) for _, body in answers) == 1
    assert sum(len(body["duplicates"]) for _, body in answers) == 49

    # Exactly one job per message in the queue...
    keys = queued_dedupe_keys(redis_conn, "webhooks")
    assert sorted(keys) == ["webhook:baileys:wamid.ONE", "webhook:baileys:wamid.RACE"]
    # ...each skip logged by the server...
    wanted = {"Skipped duplicate webhook for msg_id=wamid.ONE": 1}
    wanted["Skipped duplicate webhook for msg_id=wamid.RACE"] = 49
    deadline = time.monotonic() + 10
    while True:
        log = proc.output()
        counts = {line: log.count(line) for line in wanted}
        if counts == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert counts == wanted, log[-3000:]

    # ...and executed once by a real worker.
    run_workers(redis_url, ["webhooks"])
    assert processed(redis_conn, "whatsapp") == {"wamid.ONE": 1, "wamid.RACE": 1}
    assert redis_conn.llen("rq:queue:webhooks") == 0

    # A retry after the job ran is still inside the dedupe window: not run again.
    assert post(base, WEBHOOK, whatsapp_body("wamid.ONE"))[1]["duplicates"] == ["wamid.ONE"]
    assert redis_conn.llen("rq:queue:webhooks") == 0


@pytest.mark.smoke
def test_bad_input_is_refused_and_valid_messages_in_the_batch_are_kept(
    client, redis_url, redis_conn
) -> None:  # type: ignore[no-untyped-def]
    def send(data, secret: str | None = SECRET, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
        headers = {} if secret is None else {"X-Internal-Secret": secret}
        raw = data if isinstance(data, (bytes, str)) else json.dumps(data)
        return client.post(WEBHOOK, data=raw, headers=headers, content_type=content_type)

    answers = [
        (send(whatsapp_body("ok-1")), 200),
        (send(b'{"messages": [{"id": "bad-json"'), 400),  # malformed JSON
        (send(whatsapp_body("ok-2")), 200),
        (send(whatsapp_body("wrong-secret"), secret="not-the-secret"), 401),
        (send(whatsapp_body("no-secret"), secret=None), 401),
        (send(whatsapp_body(SECRET), secret=SECRET[:-1]), 401),  # a prefix is not the secret
        (send(whatsapp_body(None)), 400),  # a message without an id
        (send(whatsapp_body("ok-3")), 200),
        (send({"messages": "not a list"}), 400),
        (send(whatsapp_body("form-encoded"), content_type="text/plain"), 400),
        (send(b"x" * (2 * 1024 * 1024)), 413),  # a huge body, refused before it is read
        (send({"messages": [{"id": ""}, {"id": "   "}, {"id": None}, {"id": True}, "str"]}), 400),
        # A batch with one bad message: the two valid ones are kept, the bad one reported.
        (send(whatsapp_body("ok-4", None, "ok-5")), 400),
        (send(whatsapp_body("ok-4", None, "ok-5")), 400),  # the provider resends the batch
    ]
    for number, (response, status) in enumerate(answers):
        assert response.status_code == status, (number, response.get_data(as_text=True))
        if status in (400, 401, 413) and response.is_json:
            assert response.get_json()["error"], number

    assert answers[1][0].get_json()["error"].startswith("body must be JSON shaped like")
    assert answers[6][0].get_json() == {
        "queued": [],
        "duplicates": [],
        "rejected": [0],
        "error": "message(s) at index 0 have no id",
    }
    assert answers[12][0].get_json()["queued"] == ["ok-4", "ok-5"]
    assert answers[12][0].get_json()["rejected"] == [1]
    assert answers[13][0].get_json()["duplicates"] == ["ok-4", "ok-5"]

    # Other routes check their input too.
    assert client.post("/webhook/twilio/status", data={"CallStatus": "ringing"}).status_code == 400
    assert client.post("/webhook/twilio/recording", data={"CallSid": "CA1"}).status_code == 400
    assert client.post("/api/notifications", json={"notification_id": "n1"}).status_code == 400
    assert (
        client.post("/api/notifications", data="{", content_type="application/json").status_code
        == 400
    )
    for queue in ("calls", "recordings", "notifications"):
        assert redis_conn.llen(f"rq:queue:{queue}") == 0, queue

    valid = ["ok-1", "ok-2", "ok-3", "ok-4", "ok-5"]
    keys = queued_dedupe_keys(redis_conn, "webhooks")
    assert sorted(keys) == [f"webhook:baileys:{message_id}" for message_id in valid]
    run_workers(redis_url, ["webhooks"])
    assert processed(redis_conn, "whatsapp") == {message_id: 1 for message_id in valid}


def test_twilio_push_and_recording_events_run_once(client, redis_url, redis_conn) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):  # every provider event delivered three times
        for status in ("ringing", "in-progress", "completed"):
            response = client.post(
                "/webhook/twilio/status", data={"CallSid": "CA42", "CallStatus": status}
            )
            assert response.status_code == 204
        response = client.post(
            "/webhook/twilio/recording",
            data={"CallSid": "CA42", "RecordingUrl": "https://api.twilio.com/rec/RE1"},
        )
        assert response.status_code == 204
        for notification_id in ("n-1", "n-2"):
            response = client.post(
                "/api/notifications",
                json={"notification_id": notification_id, "user_id": "u-7", "title": "New lead"},
            )
            assert response.status_code == 202

    assert sorted(queued_dedupe_keys(redis_conn, "calls")) == [
        "twilio:CA42:completed",
        "twilio:CA42:in-progress",
        "twilio:CA42:ringing",
    ]
    assert queued_dedupe_keys(redis_conn, "recordings") == ["recording:CA42"]
    assert sorted(queued_dedupe_keys(redis_conn, "notifications")) == [
        "push:notification:n-1",
        "push:notification:n-2",
    ]
    run_workers(redis_url, ["calls", "recordings", "notifications"])
    assert processed(redis_conn, "twilio") == {
        "CA42:ringing": 1,
        "CA42:in-progress": 1,
        "CA42:completed": 1,
    }
    assert processed(redis_conn, "recording") == {"CA42": 1}
    assert processed(redis_conn, "push") == {"n-1": 1, "n-2": 1}
