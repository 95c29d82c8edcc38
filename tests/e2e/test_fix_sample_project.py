"""The legacy sample project (tests/fixers/sample_project) fixed end to end, then run on Redis.

A copy is fixed with ``flake8-rqjobs fix``; flake8 then reports only the sites listed as manual
fixes; and both the original and the fixed copy are imported and exercised against the real
test Redis (in subprocesses, since both are the package ``legacyapp``), including a real RQ
worker run. Their observable behaviour is the same, except for what the fixes are meant to
change: the scheduler lock is TTL-only, and ``create_app()`` no longer starts a thread.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Set, Tuple

import pytest

from flake8_rqjobs.commands.fix import main

SAMPLE = Path(__file__).resolve().parents[1] / "fixers" / "sample_project"
MANUAL: Set[Tuple[str, int, str]] = {
    ("legacyapp/recordings.py", 12, "RQJ001"),
    ("legacyapp/recordings.py", 13, "RQJ002"),
    ("legacyapp/recordings.py", 14, "RQJ003"),
    ("legacyapp/recordings.py", 14, "RQJ300"),
    ("legacyapp/routes.py", 20, "RQJ300"),  # line numbers of the fixed files
}

DRIVER = r"""
import json, os, sys, threading

import redis
from flask import Flask
from rq import Queue, SimpleWorker

r = redis.Redis.from_url(os.environ["REDIS_URL"])
out = {}
from legacyapp import cache, config, exports, notifications, routes, scheduler

out["notify"] = notifications.notify(7, "hello").func_name
out["pending"] = notifications.pending()
out["export_id"] = type(exports.request_export(42, "json")).__name__
app = Flask("driver")
app.register_blueprint(routes.webhooks_bp)
client = app.test_client()
response = client.post("/webhooks/whatsapp", json={"messages": [{"id": "m1"}, {"id": "m2"}]})
out["webhook"] = [response.status_code, response.get_json()]
out["queue_sizes"] = client.get("/queues").get_json()
out["live_events"] = routes.live_events.qsize()
cache.remember_lead(5, "Ada")
out["lead"] = [cache.lead_name(5), type(cache.lead_name(5)).__name__]
out["config_ping"] = config.redis_client.ping()
scheduler.scheduler_tick()
out["lock_ttl"] = r.ttl(scheduler.LOCK_KEY)
names = ["notifications", "exports", "webhooks", "maintenance"]
out["jobs"] = {
    name: sorted(
        json.dumps([j.func_name, list(j.args), j.kwargs, j.timeout, j.origin], sort_keys=True)
        for j in Queue(name, connection=r).jobs
    )
    for name in names
}
if "--create-app" in sys.argv:
    before = threading.active_count()
    import legacyapp

    legacyapp.create_app()
    out["threads_started"] = threading.active_count() - before
SimpleWorker([Queue(n, connection=r) for n in names], connection=r).work(burst=True)
out["done"] = sorted(x.decode() for x in r.lrange("sample:done", 0, -1))
out["failed"] = sum(Queue(n, connection=r).failed_job_registry.count for n in names)
print(json.dumps(out))
"""


def _exercise(tree: Path, redis_url: str, *flags: str) -> Dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQJOBS_", "SERVICE_ROLE"))}
    env.update(REDIS_URL=redis_url, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *flags],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _flake8(tree: Path) -> Set[Tuple[str, int, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "RQJ", "legacyapp"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    found = set()
    for line in done.stdout.splitlines():
        match = re.match(r"(?P<path>[^:]+):(?P<row>\d+):\d+: (?P<code>RQJ\d+)", line)
        assert match, line
        found.add((match["path"].replace(os.sep, "/"), int(match["row"]), match["code"]))
    return found


@pytest.mark.smoke
def test_sample_project_fixed_end_to_end(
    tmp_path: Path,
    redis_conn: Any,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    original = tmp_path / "original"
    fixed = tmp_path / "fixed"
    shutil.copytree(SAMPLE, original)
    shutil.copytree(SAMPLE, fixed)

    monkeypatch.chdir(fixed)
    assert main(["legacyapp"]) == 1
    out = capsys.readouterr().out
    reported = {
        (m["path"], int(m["line"]), m["code"])
        for m in re.finditer(
            r"^(?P<path>\S+):(?P<line>\d+): (?P<code>RQJ\d+) manual fix", out, re.M
        )
    }
    assert reported == MANUAL
    assert "8 files changed" in out
    assert main(["legacyapp"]) == 0  # idempotent

    # Lint: only the manual sites are left (the original had many more).
    assert _flake8(fixed) == MANUAL
    assert len(_flake8(original)) > len(MANUAL) + 15

    # Behaviour against the real Redis: original vs fixed.
    redis_conn.flushall()
    before = _exercise(original, redis_url)
    redis_conn.flushall()
    after = _exercise(fixed, redis_url, "--create-app")
    redis_conn.flushall()

    assert before["lock_ttl"] == -2  # the legacy code released its lock by hand
    assert 0 < after["lock_ttl"] <= 30  # TTL-only lock: it expires by itself
    assert after.pop("threads_started") == 0  # no in-process scheduler any more
    for result in (before, after):
        del result["lock_ttl"]
    assert after == before
    assert before["failed"] == 0
    assert before["webhook"] == [200, {"received": 2}]
    assert before["lead"] == ["Ada", "str"]
    assert len(before["done"]) == 5  # push, export, 2 webhooks, cleanup: each ran once
    assert len(set(before["done"])) == len(before["done"])
