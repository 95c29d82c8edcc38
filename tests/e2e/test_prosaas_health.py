"""`/api/jobs/health` of the migrated app against real jobs, a real scheduler and a real outage.

Issue test 4: the numbers equal a direct count of RQ's registries after real jobs finished and
failed; ``last_tick`` moves while a scheduler runs; 503 (fast, without the password of
``REDIS_URL``) when Redis is stopped, and a webhook during the outage gets 503 so the provider
retries it: after the restart the retry is queued, nothing is lost.
"""

from __future__ import annotations

import json
import subprocess
import time

from prosaas_support import (
    LOCK,
    OWN_REDIS_PASSWORD,
    REPO,
    app_env,
    console_script,
    run_workers,
    start_scheduler,
    wait_for_first_lock,
)

STATUSES = ("queued", "started", "finished", "failed", "deferred", "scheduled", "canceled")


def direct_counts(redis_conn, name: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """RQ's own view of a queue (each registry's ``count`` runs RQ's cleanup first)."""
    from rq import Queue
    from rq.registry import (
        CanceledJobRegistry,
        DeferredJobRegistry,
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
        StartedJobRegistry,
    )

    queue = Queue(name, connection=redis_conn)
    registries = (
        StartedJobRegistry,
        FinishedJobRegistry,
        FailedJobRegistry,
        DeferredJobRegistry,
        ScheduledJobRegistry,
        CanceledJobRegistry,
    )
    counts = [queue.count] + [registry(queue=queue).count for registry in registries]
    return dict(zip(STATUSES, counts))


def test_health_numbers_equal_a_direct_count_and_last_tick_moves(  # type: ignore[no-untyped-def]
    client, redis_url, redis_conn, procs
) -> None:
    from datetime import timedelta

    from prosaas.services.jobs import enqueue, get_queue
    from prosaas.tasks import score_lead_job

    # Real jobs: three leads scored (finished), two unknown leads (failed), one scheduled,
    # four notifications left queued (no worker reads that queue here).
    for number in range(3):
        answer = client.post("/api/leads", json={"name": f"Lead {number}", "phone": "+1555"})
        assert answer.status_code == 201
    enqueue("leads", score_lead_job, "no-such-lead-1")
    enqueue("leads", score_lead_job, "no-such-lead-2")
    get_queue("leads").enqueue_in(timedelta(hours=1), score_lead_job, "later")
    for number in range(4):
        answer = client.post(
            "/api/notifications",
            json={"notification_id": f"n-{number}", "user_id": "u-1", "title": "Hi"},
        )
        assert answer.status_code == 202
    run_workers(redis_url, ["leads"])

    scheduler = start_scheduler(procs, redis_url, tick=1)
    wait_for_first_lock([scheduler], timeout=30)
    first = client.get("/api/jobs/health")
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "healthy"
    assert body["scheduler"]["healthy"] is True

    assert body["queues"]["leads"] == direct_counts(redis_conn, "leads")
    assert body["queues"]["notifications"] == direct_counts(redis_conn, "notifications")
    assert body["queues"]["leads"] == dict.fromkeys(STATUSES, 0) | {
        "finished": 3,
        "failed": 2,
        "scheduled": 1,
    }
    assert body["queues"]["notifications"]["queued"] == 4

    # last_tick moves with the scheduler's ticks.
    deadline = time.monotonic() + 5
    while True:
        later = client.get("/api/jobs/health").get_json()["scheduler"]["last_tick"]
        if later > body["scheduler"]["last_tick"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert later > body["scheduler"]["last_tick"]
    assert scheduler.stop() == 0

    # The command-line check that the containers use agrees.
    check = subprocess.run(
        [console_script("rqjobs"), "health", "--json"],
        env=app_env(redis_url),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(check.stdout)
    assert report["queues"]["leads"] == direct_counts(redis_conn, "leads")


def test_503_when_redis_is_stopped_and_nothing_lost(  # type: ignore[no-untyped-def]
    own_redis_proc, prosaas_env, monkeypatch, procs
) -> None:
    import redis
    import rqjobs
    from prosaas.factory import create_app

    url = f"redis://:{OWN_REDIS_PASSWORD}@{own_redis_proc.host}:{own_redis_proc.port}/0"
    direct = redis.Redis.from_url(url)
    direct.flushall()
    monkeypatch.setenv("REDIS_URL", url)
    rqjobs.reset_redis()
    client = create_app().test_client()
    webhook = {"messages": [{"id": "wamid.OUTAGE", "from": "+15550001", "text": "hi"}]}
    headers = {"X-Internal-Secret": "e2e-internal-secret"}

    scheduler = start_scheduler(procs, url, tick=1)
    wait_for_first_lock([scheduler], timeout=30)
    assert client.get("/api/jobs/health").status_code == 200

    own_redis_proc.stop()
    try:
        started = time.monotonic()
        down = client.get("/api/jobs/health")
        elapsed = time.monotonic() - started
        assert down.status_code == 503
        assert down.get_json()["status"] == "unhealthy"
        assert elapsed < 2.5, elapsed  # an orchestrator's probe does not time out
        assert OWN_REDIS_PASSWORD not in down.get_data(as_text=True)

        # A delivery during the outage is refused with 503: the provider will retry it.
        refused = client.post("/webhook/whatsapp/incoming", json=webhook, headers=headers)
        assert refused.status_code == 503
        assert OWN_REDIS_PASSWORD not in refused.get_data(as_text=True)

        probe = subprocess.run(
            [console_script("rqjobs"), "health"],
            env=app_env(url),
            cwd=str(REPO),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert probe.returncode == 1
        assert OWN_REDIS_PASSWORD not in probe.stdout + probe.stderr
        assert "unhealthy" in probe.stdout
    finally:
        own_redis_proc.start()

    # The provider's retry after the restart is queued once; the scheduler is back.
    retried = client.post("/webhook/whatsapp/incoming", json=webhook, headers=headers)
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["queued"] == ["wamid.OUTAGE"]
    assert direct.llen("rq:queue:webhooks") == 1
    marks = len(scheduler.lines)
    relocked = scheduler.wait_for(lambda line: bool(LOCK.search(line)), timeout=10, start=marks)
    assert relocked, scheduler.output()[-2000:]
    deadline = time.monotonic() + 5
    while client.get("/api/jobs/health").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    direct.flushall()
    rqjobs.reset_redis()


def test_health_answers_503_before_any_scheduler_ticked(client) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/api/jobs/health")
    assert answer.status_code == 503
    assert answer.get_json()["error"] == "no scheduler has ever ticked (start `rqjobs scheduler`)"
    assert "leads" in answer.get_json()["queues"]
