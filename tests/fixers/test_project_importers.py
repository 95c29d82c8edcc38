"""Fixing some files of a project (pre-commit's staged files) never breaks the others: a
module-level name that an unlisted module imports stays (issue 12, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flake8_rqjobs.commands.fix import main

pytestmark = pytest.mark.runtime  # the fixed code imports rqjobs / runs on Redis

JOBS_DEF = textwrap.dedent(
    """\
    import os

    from redis import Redis
    from rq import Queue

    q = Queue("default", connection=Redis.from_url(os.environ["REDIS_URL"]))


    def send(user_id):
        q.enqueue(print, user_id)
    """
)
ADMIN = textwrap.dedent(
    """\
    from app.jobs_def import q


    def backlog():
        return q.count
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "jobs_def.py").write_text(JOBS_DEF)
    (tmp_path / "app" / "admin.py").write_text(ADMIN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _import_every_module(root: Path, then: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), "REDIS_URL": "redis://localhost:1/0"}
    code = f"import app, app.admin, app.jobs_def; {then}"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )


def test_fixing_only_the_staged_file_keeps_what_an_unstaged_file_imports(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["app/jobs_def.py"]) == 1  # admin.py is not passed, as with pre-commit
    fixed = (project / "app" / "jobs_def.py").read_text()
    assert 'q = get_queue("default")' in fixed
    assert 'enqueue("default", print, user_id)' in fixed
    assert (project / "app" / "admin.py").read_text() == ADMIN
    imported = _import_every_module(project, "print(app.jobs_def.q.name)")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "default"
    assert main(["app/jobs_def.py"]) == 0  # and a second run changes nothing


def test_without_an_importer_the_queue_goes(project: Path) -> None:
    (project / "app" / "admin.py").write_text("def backlog():\n    return 0\n")
    assert main(["app/jobs_def.py"]) == 1
    fixed = (project / "app" / "jobs_def.py").read_text()
    assert "get_queue" not in fixed and "q = " not in fixed
    imported = _import_every_module(project)
    assert imported.returncode == 0, imported.stderr


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_pre_commit_on_the_staged_file_keeps_the_unstaged_importer(project: Path) -> None:
    """A real ``pre-commit run``: only the staged app/jobs_def.py is handed to the fix hook
    (the repository's own hook definition, run from this checkout as a local hook, so no
    package is installed); app/admin.py, committed before, still imports q afterwards."""
    import yaml

    hooks = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text()
    )
    fix_hook = next(h for h in hooks if h["id"] == "flake8-rqjobs-fix")
    entry = fix_hook["entry"].replace(
        "flake8-rqjobs", str(Path(sys.executable).parent / "flake8-rqjobs"), 1
    )
    local = {**fix_hook, "entry": entry, "language": "system"}
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    _git(project, "init", "-q")
    _git(project, "config", "user.email", "t@example.com")
    _git(project, "config", "user.name", "t")
    _git(
        project,
        "add",
        "pyproject.toml",
        ".pre-commit-config.yaml",
        "app/__init__.py",
        "app/admin.py",
    )
    _git(project, "commit", "-q", "-m", "admin")
    _git(project, "add", "app/jobs_def.py")  # the only staged file
    pre_commit = Path(sys.executable).parent / "pre-commit"
    env = {**os.environ, "PRE_COMMIT_HOME": str(project / ".pre-commit-home")}
    run = subprocess.run(
        [str(pre_commit), "run", "--hook-stage", "pre-commit"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # the hook rewrote the file
    assert "files were modified by this hook" in run.stdout
    assert 'q = get_queue("default")' in (project / "app" / "jobs_def.py").read_text()
    imported = _import_every_module(project, "print(app.jobs_def.q.name)")
    assert imported.returncode == 0, imported.stderr
