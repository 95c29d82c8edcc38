"""Lint: the RQJ rules find every planted anti-pattern in legacy/ and nothing in app/.

Run from ``examples/prosaas`` so that its ``pyproject.toml`` (``[tool.rqjobs]``) applies, the
way a team runs it in its own repository. The expected list is exact: a missing finding is a
false negative, an extra one a false positive (``realtime.py``'s ``queue.Queue`` thread and
the lead import's ``release_lock`` gate in ``routes/leads.py`` must stay unflagged).
"""

from __future__ import annotations

import re
import subprocess

import pytest
from prosaas_support import BIN, EXAMPLE

# (file under legacy/prosaas/, line, code)
EXPECTED_LEGACY = [
    ("factory.py", 28, "RQJ100"),  # start_reminder_scheduler() at app start-up
    ("cache.py", 11, "RQJ001"),  # Redis.from_url(..., decode_responses=True)
    ("config.py", 13, "RQJ001"),  # redis.from_url(REDIS_URL) if REDIS_URL else None
    ("routes/leads.py", 28, "RQJ003"),  # get_queue("leads").enqueue(...)
    ("routes/leads.py", 48, "RQJ002"),  # q = Queue("leads", connection=redis_client)
    ("routes/leads.py", 52, "RQJ003"),  # q.enqueue(...) in the import loop
    ("routes/webhooks.py", 24, "RQJ001"),  # conn = Redis.from_url(os.getenv("REDIS_URL"))
    ("routes/webhooks.py", 25, "RQJ002"),  # q = Queue("webhooks", connection=conn)
    ("routes/webhooks.py", 27, "RQJ003"),  # q.enqueue(process_whatsapp_webhook_job, ...)
    ("routes/webhooks.py", 27, "RQJ300"),  # ... without a dedupe key
    ("routes/webhooks.py", 27, "RQJ301"),  # ... job_id=f"webhook-{int(time.time() * 1000)}"
    ("routes/webhooks.py", 40, "RQJ001"),  # Queue("calls", connection=Redis.from_url(...))
    ("routes/webhooks.py", 40, "RQJ002"),
    ("routes/webhooks.py", 40, "RQJ003"),
    ("routes/webhooks.py", 40, "RQJ300"),  # twilio_callback_job without a dedupe key
    ("services/notifications.py", 14, "RQJ001"),
    ("services/notifications.py", 15, "RQJ002"),
    ("services/notifications.py", 16, "RQJ003"),
    ("services/notifications.py", 16, "RQJ300"),  # push_send_job without a dedupe key
    ("services/recordings.py", 16, "RQJ001"),  # Redis.from_url(url), url has another default
    ("services/recordings.py", 17, "RQJ002"),
    ("services/recordings.py", 18, "RQJ003"),  # q.enqueue_call(...)
    ("services/recordings.py", 18, "RQJ300"),
    ("services/recordings.py", 18, "RQJ301"),  # job_id from time.time()
    ("services/reminder_scheduler.py", 28, "RQJ002"),
    ("services/reminder_scheduler.py", 28, "RQJ003"),
    ("services/reminder_scheduler.py", 31, "RQJ200"),  # release_lock() in finally
    ("services/reminder_scheduler.py", 32, "RQJ201"),  # time.sleep(60)
    ("tasks.py", 18, "RQJ001"),
]

LINE = re.compile(r"^(?P<path>[^:]+):(?P<row>\d+):(?P<col>\d+): (?P<code>RQJ\d+) (?P<text>.+)$")


def findings(argv: list[str], tree: str) -> tuple[int, list[tuple[str, int, str]], list[str]]:
    result = subprocess.run(
        [*argv, tree], cwd=EXAMPLE, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stderr == "", result.stderr
    lines = result.stdout.splitlines()
    found = []
    for line in lines:
        match = LINE.match(line)
        assert match, line
        path = match["path"].replace("\\", "/")
        prefix = f"{tree}/prosaas/"
        assert path.startswith(prefix), path
        found.append((path[len(prefix) :], int(match["row"]), match["code"]))
    return result.returncode, sorted(found), lines


@pytest.mark.smoke
def test_flake8_reports_exactly_the_planted_anti_patterns_in_legacy() -> None:
    status, found, lines = findings([str(BIN / "flake8"), "--select", "RQJ"], "legacy")
    assert status == 1
    assert found == sorted(EXPECTED_LEGACY)
    # The advice names the team's wrapper module (pyproject's wrapper-module), not rqjobs.
    assert any("Use prosaas.services.jobs.get_redis() instead" in line for line in lines)


def test_flake8_reports_nothing_on_the_migrated_app() -> None:
    status, found, lines = findings([str(BIN / "flake8"), "--select", "RQJ"], "app")
    assert (status, lines) == (0, [])


def test_the_standalone_check_agrees_with_flake8() -> None:
    check = [str(BIN / "flake8-rqjobs"), "check"]
    status, found, _ = findings(check, "legacy")
    assert status == 1
    assert found == sorted(EXPECTED_LEGACY)
    status, found, lines = findings(check, "app")
    assert (status, lines) == (0, [])
