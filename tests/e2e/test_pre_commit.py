"""pre-commit: both hooks of this repository, and the README's snippets as printed (issue 15, 8).

``pre-commit try-repo`` runs the hooks of ``.pre-commit-hooks.yaml`` from a git repository at
one commit. It is never pointed at this checkout itself: with uncommitted changes try-repo
stages them through this checkout's own index (``git add -u`` with its ``GIT_INDEX_FILE``).
Instead the working tree (tracked and untracked files that git does not ignore) is copied
into a throwaway repository and committed there, tagged ``v<version>`` as a release is, so
the hooks are tested as they are now, committed or not.

pre-commit builds a virtualenv and pip-installs the repository into it (from the package
index). ``try-repo`` does that in a store of its own, every time (about 25-50 s here); the
``pre-commit run`` tests share ``PRE_COMMIT_HOME``, one folder for the whole module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
REPOSITORY_URL = "https://github.com/your-org/flake8-rqjobs"  # the README's placeholder
HOOK_IDS = ("rqjobs-check", "flake8-rqjobs-fix")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "pre-commit test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "pre-commit test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}

VIOLATION = '''"""A task module with a client of its own (RQJ001)."""
import os

import redis

REDIS_URL = os.getenv("REDIS_URL")
client = redis.from_url(REDIS_URL)
'''
FIXED_CALL = "client = get_redis()"


def _version() -> str:
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match, "no version in pyproject.toml"
    return match.group(1)


def _git(*args: str, cwd: Path) -> str:
    env = dict(os.environ, **GIT_ENV)
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def _readme_yaml_blocks() -> list[str]:
    """Every ```yaml block of the README, with the marker comment just above it (if any)."""
    text = README.read_text(encoding="utf-8")
    return [
        (marker or "") + body
        for marker, body in re.findall(
            r"(<!-- pre-commit: \w+ -->\n)?```yaml\n(.*?)```", text, flags=re.S
        )
    ]


def _readme_local_config() -> str:
    blocks = [b for b in _readme_yaml_blocks() if b.startswith("<!-- pre-commit: local -->")]
    assert len(blocks) == 1, "the README has one <!-- pre-commit: local --> yaml block"
    return blocks[0].split("\n", 1)[1]


def _readme_repository_configs() -> list[str]:
    return [b for b in _readme_yaml_blocks() if f"repo: {REPOSITORY_URL}" in b]


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit store for the module: each hook environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's working tree, committed into a throwaway repository and tagged."""
    clone = tmp_path_factory.mktemp("flake8-rqjobs-repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree, not yet committed
            continue
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    _git("init", "-q", "-b", "main", cwd=clone)
    _git("add", "-A", cwd=clone)
    _git("commit", "-q", "-m", "working tree of flake8-rqjobs", cwd=clone)
    _git("tag", f"v{_version()}", cwd=clone)
    return clone


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small git project with one RQJ001 violation (``app/tasks.py``), staged."""
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "tasks.py").write_text(VIOLATION)
    (root / "tests").mkdir()
    (root / "tests" / "test_tasks.py").write_text(VIOLATION)  # excluded by the snippets
    _git("init", "-q", "-b", "main", cwd=root)
    _git("add", "-A", cwd=root)
    return root


def _pre_commit(
    args: list[str], cwd: Path, home: Path, *, path_first: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **GIT_ENV)
    env["PRE_COMMIT_HOME"] = str(home)
    env["PRE_COMMIT_COLOR"] = "never"
    env.pop("VIRTUAL_ENV", None)
    if path_first:
        env["PATH"] = path_first + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _timed(label: str, run: subprocess.CompletedProcess[str], started: float) -> None:
    print(f"{label}: exit {run.returncode} in {time.monotonic() - started:.1f} s")


def test_the_hooks_file_has_both_hooks() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for hook_id in HOOK_IDS:
        assert f"- id: {hook_id}\n" in text


def test_try_repo_rqjobs_check_fails_naming_rqj001(
    hook_repo: Path, project: Path, pre_commit_home: Path
) -> None:
    started = time.monotonic()
    run = _pre_commit(
        ["try-repo", str(hook_repo), "rqjobs-check", "--all-files", "--verbose"],
        project,
        pre_commit_home,
    )
    _timed("try-repo rqjobs-check (installs the hook environment)", run, started)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "RQJ001" in output and "app/tasks.py" in output, output
    assert (project / "app" / "tasks.py").read_text() == VIOLATION  # a check writes nothing


def test_try_repo_fix_rewrites_the_file(
    hook_repo: Path, project: Path, pre_commit_home: Path
) -> None:
    started = time.monotonic()
    run = _pre_commit(
        ["try-repo", str(hook_repo), "flake8-rqjobs-fix", "--all-files"],
        project,
        pre_commit_home,
    )
    _timed("try-repo flake8-rqjobs-fix", run, started)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output  # files were modified: the commit stops for review
    fixed = (project / "app" / "tasks.py").read_text()
    assert FIXED_CALL in fixed and "from rqjobs import get_redis" in fixed, fixed
    assert "redis.from_url" not in fixed


def test_readme_repository_snippets_as_printed(
    hook_repo: Path, project: Path, pre_commit_home: Path
) -> None:
    """The README's ``repo: <url>, rev: v<version>`` snippets, the URL pointed at the copy."""
    configs = _readme_repository_configs()
    found = {hook_id for config in configs for hook_id in HOOK_IDS if f"id: {hook_id}" in config}
    assert found == set(HOOK_IDS), configs
    for config in configs:
        assert f"rev: v{_version()}\n" in config, config
    # Both snippets in one config, in README order (check, then fix), as a team would merge.
    hooks = "".join(config.split("    hooks:\n", 1)[1] for config in configs)
    merged = f"repos:\n  - repo: {hook_repo}\n    rev: v{_version()}\n    hooks:\n{hooks}"
    (project / ".pre-commit-config.yaml").write_text(merged)
    _git("add", ".pre-commit-config.yaml", cwd=project)
    started = time.monotonic()
    run = _pre_commit(["run", "--all-files"], project, pre_commit_home)
    _timed("pre-commit run, README repository snippets (installs rev v0.1.0)", run, started)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "RQJ001" in output, output
    assert FIXED_CALL in (project / "app" / "tasks.py").read_text()
    assert (project / "tests" / "test_tasks.py").read_text() == VIOLATION  # exclude: ^tests/


def test_readme_local_snippet_as_printed(project: Path, pre_commit_home: Path) -> None:
    """``repo: local``: the command installed in the environment (this .venv's)."""
    config = _readme_local_config()
    (project / ".pre-commit-config.yaml").write_text(config)
    _git("add", ".pre-commit-config.yaml", cwd=project)
    installed = Path(sys.executable).parent
    assert (installed / "flake8-rqjobs").exists()
    run = _pre_commit(
        ["run", "--all-files", "--verbose"], project, pre_commit_home, path_first=str(installed)
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "RQJ001" in output and "app/tasks.py" in output, output
    fixed = (project / "app" / "tasks.py").read_text()
    assert FIXED_CALL in fixed, output
    assert (project / "tests" / "test_tasks.py").read_text() == VIOLATION
    # Staged and run again: clean.
    _git("add", "-A", cwd=project)
    again = _pre_commit(["run", "--all-files"], project, pre_commit_home, path_first=str(installed))
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.fixture(autouse=True)
def _no_git_hooks_of_the_user(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    yield
