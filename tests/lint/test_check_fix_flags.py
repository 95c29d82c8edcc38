"""The command-line flags ``fix`` shares with ``check``: ``--version``, ``--ignore``, ``-q``;
and deep nesting, which ``fix`` used to call "does not parse"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flake8_rqjobs import __version__

from .helpers import write_project

SLEEPER = "import time\n\ndef run_scheduler():\n    while True:\n        time.sleep(30)\n"


def fix(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flake8_rqjobs.cli", "fix", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_version_and_quiet(tmp_path: Path) -> None:
    assert fix(tmp_path, "--version").stdout.strip() == f"flake8-rqjobs {__version__}"
    write_project(tmp_path, {"a.py": "import redis\nc = redis.Redis.from_url('redis://x')\n"})
    loud, quiet = fix(tmp_path, "--check", "a.py"), fix(tmp_path, "-q", "--check", "a.py")
    assert "manual fix" in loud.stdout
    assert quiet.stdout.splitlines() == [loud.stdout.splitlines()[-1]]


def test_ignore_skips_fixers(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": SLEEPER})
    assert fix(tmp_path, "--check", "a.py").returncode == 1
    assert fix(tmp_path, "--check", "--ignore", "RQJ2", "a.py").returncode == 0
    bad = fix(tmp_path, "--check", "--ignore", "RQJ", "a.py")
    assert bad.returncode == 2 and "no fixer" in bad.stderr


def test_deeply_nested_file_is_fixed_not_skipped(tmp_path: Path) -> None:
    deep = "x = " + " + ".join(["1"] * 1500) + "\n" + SLEEPER
    write_project(tmp_path, {"deep.py": deep})
    done = fix(tmp_path, "--diff", "deep.py")
    assert "does not parse" not in done.stdout + done.stderr
    assert done.returncode == 1, done
    assert "+        time.sleep(15)" in done.stdout
