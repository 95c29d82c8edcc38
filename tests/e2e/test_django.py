"""Django with django-rq already in place: one configuration (``RQ_QUEUES``) serves django-rq
and rqjobs, and ``rqjobs worker --django`` runs ORM jobs beside ``manage.py rqworker``.

A real Django project is written to a temporary folder: a model, its migration, a SQLite
database migrated by ``manage.py migrate``, and a job that writes a row. No ``REDIS_URL`` is
set anywhere: the producers and both workers find Redis through ``settings.RQ_QUEUES``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RQJOBS = str(Path(sys.executable).with_name("rqjobs"))

FILES = {
    "manage.py": """\
        import os, sys
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
        from django.core.management import execute_from_command_line
        execute_from_command_line(sys.argv)
        """,
    "crm/__init__.py": "",
    "crm/settings.py": """\
        from pathlib import Path
        SECRET_KEY = "test-only"
        INSTALLED_APPS = ["django.contrib.contenttypes", "notes", "django_rq"]
        BASE = Path(__file__).resolve().parent.parent
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3",
                                  "NAME": str(BASE / "db.sqlite3")}}}}
        RQ_QUEUES = {{"default": {{"HOST": "{host}", "PORT": {port}, "DB": 0,
                                  "SERIALIZER": "rq.serializers.JSONSerializer"}}}}
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
        """,
    "notes/__init__.py": "",
    "notes/models.py": """\
        from django.db import models

        class Note(models.Model):
            text = models.CharField(max_length=100)
        """,
    "notes/migrations/__init__.py": "",
    "notes/migrations/0001_initial.py": """\
        from django.db import migrations, models

        class Migration(migrations.Migration):
            initial = True
            dependencies = []
            operations = [migrations.CreateModel(name="Note", fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=100)),
            ])]
        """,
    "notes/tasks.py": """\
        from notes.models import Note

        def add_note(text):
            return Note.objects.create(text=text).pk
        """,
}

PRODUCER = """\
import django
django.setup()
import django_rq, rqjobs
from notes.tasks import add_note
assert rqjobs.get_queue().serializer.__name__ == "JSONSerializer", rqjobs.get_queue().serializer
rqjobs.enqueue("default", add_note, "rqjobs-1")
queue = django_rq.get_queue("default")  # passing django-rq's queue is the cleanest bridge
rqjobs.enqueue_with_dedupe(queue, add_note, "dedupe-1", dedupe_key="note:1")
assert rqjobs.enqueue_with_dedupe("default", add_note, "dedupe-1", dedupe_key="note:1") is None
django_rq.enqueue(add_note, "django-rq-1")
"""


@pytest.fixture
def project(tmp_path: Path, redis_proc, redis_conn) -> Path:  # type: ignore[no-untyped-def]
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).format(host=redis_proc.host, port=redis_proc.port))
    migrate = _run(tmp_path, [sys.executable, "manage.py", "migrate", "--noinput"])
    assert migrate.returncode == 0, migrate.stderr
    return tmp_path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQJOBS_", "REDIS_URL"))}
    env.pop("SERVICE_ROLE", None)
    env["PYTHONPATH"] = ""
    env.update(extra)
    return env


def _run(cwd: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=180, check=False
    )


def _notes(project: Path) -> list[str]:
    with sqlite3.connect(project / "db.sqlite3") as db:
        return sorted(row[0] for row in db.execute("SELECT text FROM notes_note"))


def test_rqjobs_and_django_rq_share_one_configuration(project: Path, redis_conn) -> None:  # type: ignore[no-untyped-def]
    produced = _run(
        project, [sys.executable, "-c", PRODUCER], DJANGO_SETTINGS_MODULE="crm.settings"
    )
    assert produced.returncode == 0, produced.stderr
    assert redis_conn.llen("rq:queue:default") == 3  # the repeat was a duplicate

    worker = _run(project, [RQJOBS, "worker", "--django", "crm.settings", "--burst"])
    assert worker.returncode == 0, worker.stderr
    assert _notes(project) == ["dedupe-1", "django-rq-1", "rqjobs-1"]
    assert redis_conn.zcard("rq:failed:default") == 0

    # django-rq's own worker runs what rqjobs enqueues (same Redis, same JSON serializer).
    more = _run(
        project,
        [
            sys.executable,
            "-c",
            "import django; django.setup(); import rqjobs; "
            "rqjobs.enqueue('default', 'notes.tasks.add_note', 'for-rqworker')",
        ],
        DJANGO_SETTINGS_MODULE="crm.settings",
    )
    assert more.returncode == 0, more.stderr
    # django-rq's worker does not read the queue's SERIALIZER: it takes --serializer.
    rqworker = _run(
        project,
        [
            sys.executable,
            "manage.py",
            "rqworker",
            "default",
            "--burst",
            "--serializer",
            "rq.serializers.JSONSerializer",
        ],
    )
    assert rqworker.returncode == 0, rqworker.stderr
    assert _notes(project) == ["dedupe-1", "django-rq-1", "for-rqworker", "rqjobs-1"], (
        rqworker.stdout + rqworker.stderr
    )


def test_without_django_setup_an_orm_job_fails(project: Path, redis_conn, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """The control: a plain ``rqjobs worker`` cannot run an ORM job (AppRegistryNotReady)."""
    produced = _run(
        project,
        [
            sys.executable,
            "-c",
            "import django; django.setup(); import rqjobs; "
            "rqjobs.enqueue('default', 'notes.tasks.add_note', 'no-setup')",
        ],
        DJANGO_SETTINGS_MODULE="crm.settings",
    )
    assert produced.returncode == 0, produced.stderr
    plain = _run(project, [RQJOBS, "worker", "--burst", "-S", "json"], REDIS_URL=redis_url)
    assert plain.returncode == 0, plain.stderr
    assert _notes(project) == []
    assert redis_conn.zcard("rq:failed:default") == 1


def test_a_bad_settings_module_is_one_line_and_exit_2(project: Path) -> None:
    done = _run(project, [RQJOBS, "worker", "--django", "no_such.settings", "--burst"])
    assert done.returncode == 2
    assert done.stderr.strip().startswith("rqjobs: error: --django no_such.settings")
    assert len(done.stderr.strip().splitlines()) == 1
