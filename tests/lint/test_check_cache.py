"""The content-hash cache and ``-j``: identical findings with and without the cache, with
any ``-j``, and to ``flake8 --select RQJ``; invalidation by content, configuration and the
tool's version."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List

import pytest

from flake8_rqjobs import cache as cache_module
from flake8_rqjobs.commands.check import main as check_main

from .helpers import CORPUS, check, flake8, write_project

BODY = "import redis\nc = redis.Redis()\n"
SLEEP = "import time\n\ndef run_scheduler():\n    while True:\n        time.sleep(20)\n"


def run_in(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> List[str]:
    monkeypatch.chdir(root)
    check_main([*args, "."])
    return capsys.readouterr().out.splitlines()


def test_cache_folder_like_ruffs(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": BODY})
    check(tmp_path, ".")
    folder = tmp_path / ".rqjobs_cache"
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert (folder / "CACHEDIR.TAG").exists()
    (entry,) = folder.glob("results-*.json")
    files = json.loads(entry.read_text(encoding="utf-8"))["files"]
    assert list(files) == [str(tmp_path / "a.py")]
    (tmp_path / ".rqjobs_cache").rename(tmp_path / "moved")
    assert check(tmp_path, "--no-cache", ".").returncode == 1
    assert not (tmp_path / ".rqjobs_cache").exists()


def test_content_change_same_size_same_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, {"a.py": BODY})
    target = tmp_path / "a.py"
    old = os.stat(target)
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 1
    # Same size, same mtime (an edit within one clock tick): the hash still tells.
    target.write_text(BODY.replace("c = redis", "# = redis"), encoding="utf-8")
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert run_in(tmp_path, monkeypatch, capsys) == []
    target.write_text(BODY, encoding="utf-8")
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 1


def test_old_files_are_trusted_by_stat_and_still_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, {"a.py": BODY})
    target = tmp_path / "a.py"
    os.utime(target, (1_000_000_000, 1_000_000_000))  # long before any cache entry
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 1
    reads: List[str] = []
    real = cache_module.digest
    monkeypatch.setattr(
        "flake8_rqjobs.commands.check.digest", lambda data: reads.append("x") or real(data)
    )
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 1
    assert reads == []  # answered from the stat, not re-read
    target.write_text("import redis\n", encoding="utf-8")  # new size and mtime
    assert run_in(tmp_path, monkeypatch, capsys) == []


def test_configuration_change_invalidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, {"scheduler/loop.py": SLEEP}, pyproject={"max-tick": 15})
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 1
    write_project(tmp_path, {}, pyproject={"max-tick": 30})
    assert run_in(tmp_path, monkeypatch, capsys) == []
    assert len(run_in(tmp_path, monkeypatch, capsys, "--rqjobs-max-tick=10")) == 1
    (tmp_path / ".flake8").write_text("[flake8]\nrqjobs-max-tick = 25\n", encoding="utf-8")
    assert run_in(tmp_path, monkeypatch, capsys) == []


def test_selection_change_needs_no_invalidation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, {"a.py": BODY + "from rq import Queue\nQueue()\n"})
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 2
    assert len(run_in(tmp_path, monkeypatch, capsys, "--select", "RQJ002")) == 1
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 2


def test_version_change_invalidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, {"a.py": BODY})
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 1
    folder = tmp_path / ".rqjobs_cache"
    (first,) = folder.glob("results-*.json")
    # Pretend a cached result that the current rules would not give: a new version must
    # not read it.
    data = json.loads(first.read_text(encoding="utf-8"))
    for entry in data["files"].values():
        entry[5] = []
    first.write_text(json.dumps(data), encoding="utf-8")
    assert run_in(tmp_path, monkeypatch, capsys) == []  # same version: the (doctored) cache
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    assert len(run_in(tmp_path, monkeypatch, capsys)) == 1
    assert [p.name.startswith("results-99.0-") for p in folder.glob("results-*.json")] == [True]


def test_identical_findings_any_jobs_cache_and_flake8(tmp_path: Path) -> None:
    """40+ files (enough for worker processes) from the lint corpus, copied several times."""
    files = {}
    for path in sorted(CORPUS.rglob("*.py")):
        rel = path.relative_to(CORPUS).as_posix()
        for copy in range(4):
            files[f"copy{copy}/{rel}"] = path.read_text(encoding="utf-8")
    write_project(tmp_path, files)
    (tmp_path / "pyproject.toml").write_bytes((CORPUS / "pyproject.toml").read_bytes())
    reference = flake8(tmp_path, "--isolated", ".").findings
    assert len(reference) > 40
    runs = {
        "-j1 --no-cache": check(tmp_path, "-j1", "--no-cache", "."),
        "-j2 --no-cache": check(tmp_path, "-j2", "--no-cache", "."),
        "-j3 cold": check(tmp_path, "-j3", "."),
        "-j1 warm": check(tmp_path, "-j1", "."),
        "default warm": check(tmp_path, "."),
    }
    for name, done in runs.items():
        rqj = [f for f in done.findings if f.code.startswith("RQJ")]
        assert rqj == reference, name
        assert done.stdout == runs["-j1 --no-cache"].stdout, name  # same order, same text
