"""The content-hash cache and ``-j``: identical findings with and without the cache, with
any ``-j``, and to ``flake8 --select RQJ``; invalidation by content, configuration and the
tool's version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List, NamedTuple

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


# --- the whole-run index (a warm re-run on an unchanged tree) -----------------------------
PROBE = (
    "import sys\n"
    "from flake8_rqjobs import cli, runindex\n"
    "code = cli.main(sys.argv[1:])\n"
    "rules = 'flake8_rqjobs.rules' in sys.modules\n"
    "sys.stderr.write(f'\\nSTATE {runindex.last_replay} rules={rules}\\n')\n"
    "sys.exit(code)\n"
)
QUEUES = (
    'from redis import Redis\nfrom rq import Queue\n\nq = Queue("default", connection=Redis())\n'
)
USE = "from app.queues import q\n\n\ndef go():\n    q.enqueue(print, 1)\n"


class Probed(NamedTuple):
    returncode: int
    stdout: str
    state: str  # runindex.last_replay
    rules: bool  # the rules were imported


def probe(cwd: Path, *args: str) -> Probed:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    state, rules = done.stderr.rsplit("STATE ", 1)[1].split()
    return Probed(done.returncode, done.stdout, state, rules == "rules=True")


def backdate(root: Path, seconds: int = 600) -> None:
    """Every file and folder under ``root`` last modified ``seconds`` ago (an old checkout:
    the index trusts only stats from before the run's racy window)."""
    when = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (when, when))


def _index_project(root: Path) -> Path:
    write_project(
        root,
        {
            "app/__init__.py": "",
            "app/queues.py": QUEUES,
            "app/use.py": USE,
            "app/other.py": BODY,
            "lib/plain.py": "x = 1\n",
        },
        pyproject={"wrapper-modules": ["*/services/jobs.py"]},
    )
    backdate(root)
    return root


def test_warm_run_replays_the_output_without_importing_the_rules(tmp_path: Path) -> None:
    root = _index_project(tmp_path / "project")
    cache = str(tmp_path / "cache")
    reference = check(root, "--no-cache", ".")
    assert reference.returncode == 1 and len(reference.findings) == 4
    assert reference.findings == flake8(root, ".").findings
    for args in (["-j1"], ["-j2"], ["--output-format", "json"], ["-j1", "--exit-zero"]):
        first = probe(root, "--cache-dir", cache, *args, ".")
        assert (first.state, first.rules) == ("missing", True), args
        second = probe(root, "--cache-dir", cache, *args, ".")
        assert (second.state, second.rules) == ("replayed", False), args
        assert second.stdout == first.stdout, args
        assert second.returncode == first.returncode, args
        assert second.stdout == check(root, "--no-cache", *args, ".").stdout, args
    # --output-file is written again, and -v says where the output came from.
    out = tmp_path / "report.txt"
    probe(root, "--cache-dir", cache, "-o", str(out), ".")
    out.unlink()
    again = probe(root, "--cache-dir", cache, "-o", str(out), ".")
    assert again.state == "replayed" and again.stdout == ""
    assert out.read_text(encoding="utf-8") == reference.stdout
    probe(root, "--cache-dir", cache, "-v", ".")
    verbose = check(root, "--cache-dir", cache, "-v", ".")
    assert verbose.stdout == reference.stdout
    assert "checked 5 files: 0 parsed, 5 from the cache" in verbose.stderr
    assert "its output replayed" in verbose.stderr


def test_default_cache_folder_in_the_project(tmp_path: Path) -> None:
    """The first run creates ``.rqjobs_cache`` (the root folder changes: no index yet), the
    next one (once that is old news) writes the index, the third replays; the cache folder
    itself (written by every run) never counts."""
    root = _index_project(tmp_path / "project")
    assert probe(root, ".").state == "missing"
    assert not list((root / ".rqjobs_cache").glob("run-*.idx"))
    when = time.time() - 600
    os.utime(root, (when, when))
    states = [probe(root, ".").state for _ in range(3)]
    assert states == ["missing", "replayed", "replayed"]
    assert list((root / ".rqjobs_cache").glob("run-*.idx"))


def _replace_same_size(path: Path, old: str, new: str) -> None:
    """An edit that keeps the size, with an mtime still long ago (a checkout of an old
    version: only the mtime tells; an equal mtime too is the per-file cache's blind spot,
    see test_content_change_same_size_same_mtime for its racy window)."""
    st = os.stat(path)
    text = path.read_text(encoding="utf-8")
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


CHANGES = {
    "content, same size": lambda root: _replace_same_size(
        root / "app" / "other.py", "c = redis", "# = redis"
    ),
    "a new file": lambda root: (root / "lib" / "new.py").write_text(BODY, encoding="utf-8"),
    "a removed file": lambda root: (root / "app" / "other.py").unlink(),
    "a fact in a file outside the run": lambda root: _replace_same_size(
        root / "app" / "queues.py", 'q = Queue("default"', 'q = dict(("default"'
    ),
    "pyproject.toml": lambda root: write_project(
        root, {}, pyproject={"wrapper-modules": ["*/services/jobs.py", "app/use.py"]}
    ),
    "a new .flake8": lambda root: (root / ".flake8").write_text(
        "[flake8]\nextend-ignore = RQJ003\n", encoding="utf-8"
    ),
    "a flake8 file above the project": lambda root: (root.parent / "tox.ini").write_text(
        "[flake8]\nextend-ignore = RQJ001\n", encoding="utf-8"
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("paths", [["."], ["app/use.py", "app/other.py"]], ids=["dot", "files"])
def test_any_change_invalidates_the_index(tmp_path: Path, change: str, paths: List[str]) -> None:
    root = _index_project(tmp_path / "project")
    cache = str(tmp_path / "cache")
    before = probe(root, "--cache-dir", cache, *paths)
    assert probe(root, "--cache-dir", cache, *paths).state == "replayed"
    CHANGES[change](root)
    expected = check(root, "--no-cache", *paths)
    if change != "a new file" or paths == ["."]:
        assert expected.stdout != before.stdout  # the change shows in the findings
    after = probe(root, "--cache-dir", cache, *paths)
    assert after.state == "changed"
    assert (after.stdout, after.returncode) == (expected.stdout, expected.returncode)
    backdate(tmp_path)
    probe(root, "--cache-dir", cache, *paths)  # writes the new index
    again = probe(root, "--cache-dir", cache, *paths)
    assert (again.state, again.stdout) == ("replayed", expected.stdout)


def test_version_or_tool_change_invalidates_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import flake8_rqjobs
    from flake8_rqjobs import runindex

    root = _index_project(tmp_path / "project")
    tool = tmp_path / "tool"
    tool.mkdir()
    (tool / "rules.py").write_text("x = 1\n", encoding="utf-8")
    backdate(tool)
    monkeypatch.setattr(runindex, "PACKAGE", str(tool))  # the tool's sources, for the test
    args = ["--cache-dir", str(tmp_path / "cache"), "."]
    monkeypatch.chdir(root)
    assert check_main(args) == 1
    cold = capsys.readouterr().out
    assert runindex.last_replay == "missing"
    assert check_main(args) == 1
    assert (runindex.last_replay, capsys.readouterr().out) == ("replayed", cold)
    monkeypatch.setattr(flake8_rqjobs, "__version__", "99.0")
    assert runindex.replay(args) is None and runindex.last_replay == "missing"
    monkeypatch.undo()
    monkeypatch.setattr(runindex, "PACKAGE", str(tool))
    monkeypatch.chdir(root)
    assert runindex.replay(args) == 1
    capsys.readouterr()
    (tool / "rules.py").write_text("x = 2\n", encoding="utf-8")  # a new rule, say
    assert runindex.replay(args) is None and runindex.last_replay == "changed"


def test_no_cache_neither_reads_nor_writes_the_index(tmp_path: Path) -> None:
    root = _index_project(tmp_path / "project")
    cache = tmp_path / "cache"
    assert probe(root, "--no-cache", "--cache-dir", str(cache), ".").state == "off"
    assert not cache.exists()
    probe(root, "--cache-dir", str(cache), ".")
    assert list(cache.glob("run-*.idx"))
    off = probe(root, "--cache-dir", str(cache), "--no-cache", ".")
    assert (off.state, off.rules) == ("off", True)


def test_recent_files_are_not_trusted(tmp_path: Path) -> None:
    """Files modified within the racy window of the run: no index (an edit in the same
    clock tick could go unseen); the per-file cache still answers."""
    root = _index_project(tmp_path / "project")
    (root / "app" / "other.py").write_text(BODY, encoding="utf-8")  # just now
    cache = str(tmp_path / "cache")
    assert [probe(root, "--cache-dir", cache, ".").state for _ in range(2)] == ["missing"] * 2
    assert not list(Path(cache).glob("run-*.idx"))
