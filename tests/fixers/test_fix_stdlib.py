"""``flake8-rqjobs fix --check`` over the interpreter's whole standard library: no crash, no
change, exit 0. The libcst failures seen on stdlib files are reported, never raised. And
``fix`` over a copy of a few hundred stdlib modules with legacy RQ code appended breaks none."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from flake8_rqjobs.commands.fix import main
from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.fixers.engine import fix_source
from flake8_rqjobs.fixers.report import Options

STDLIB = Path(sysconfig.get_paths()["stdlib"])
LEGACY = '\nimport os\nimport redis\nclient = redis.from_url(os.getenv("REDIS_URL"))\n'


def test_check_over_the_standard_library(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml of ours on the way up
    files = sorted(STDLIB.rglob("*.py"))
    assert len(files) > 1000
    before = {p: p.stat().st_mtime_ns for p in files}
    assert main(["--check", str(STDLIB)]) == 0
    out = capsys.readouterr().out
    assert "0 files would change" in out
    assert ": error:" not in out and " error" not in out.splitlines()[-1]
    assert "would fix" not in out
    assert {p: p.stat().st_mtime_ns for p in files} == before


def test_libcst_recursion_error_is_a_skip(tmp_path: Path) -> None:
    topics = STDLIB / "pydoc_data" / "topics.py"
    text = topics.read_text(encoding="utf-8") + LEGACY
    config = Config(root=tmp_path)
    result = fix_source(text, str(tmp_path / "topics.py"), config, Options(select=ALL_CODES))
    new, fixes, manual, skipped = result.new, result.fixes, result.manual, result.skipped
    assert new is None and not fixes
    assert skipped is not None and "RecursionError" in skipped
    assert [(m.code, m.reason) for m in manual] == [("RQJ001", "file skipped")]


# RQ code as a legacy app writes it, appended to each sampled stdlib module: its names
# (os, redis, Queue, timedelta, conn, q) meet whatever the module itself binds.
LEGACY_JOBS = """

import os
from datetime import timedelta

import redis
from rq import Queue


def legacy_jobs(job):
    conn = redis.from_url(os.environ["REDIS_URL"])
    q = Queue("default", connection=conn)
    q.enqueue(job, 1)
    q.enqueue_in(timedelta(seconds=5), job, 2)
    return q.enqueue_at(when, job, 3)
"""
SAMPLE = 300


def _compiles(text: str, name: str) -> bool:
    try:
        compile(text, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@pytest.mark.slow
def test_fix_over_a_copy_of_stdlib_modules_with_rq_code_breaks_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``fix`` (not ``--check``) over a copy of a few hundred stdlib modules, each with RQ
    code appended: every file still parses, compiles where it compiled before, and a second
    run changes nothing."""
    monkeypatch.chdir(tmp_path)
    files = [
        p
        for p in sorted(STDLIB.rglob("*.py"))
        if "site-packages" not in p.parts and "test" not in p.parts and "tests" not in p.parts
    ]
    step = max(1, len(files) // SAMPLE)
    root = tmp_path / "copy"
    root.mkdir()
    compiled_before = {}
    for source in files[::step][:SAMPLE]:
        try:
            text = source.read_text(encoding="utf-8") + LEGACY_JOBS
        except (UnicodeDecodeError, OSError):
            continue
        name = "_".join(source.relative_to(STDLIB).with_suffix("").parts) + ".py"
        (root / name).write_text(text, encoding="utf-8")
        compiled_before[name] = _compiles(text, name)
    assert len(compiled_before) >= 250
    main([str(root)])
    first = capsys.readouterr().out
    assert ": error:" not in first, first
    changed = 0
    for name, compiled in compiled_before.items():
        text = (root / name).read_text(encoding="utf-8")
        if compiled:
            assert _compiles(text, name), f"{name} no longer compiles:\n{text[-1500:]}"
        if "from rqjobs import" in text:
            changed += 1
    assert changed >= len(compiled_before) // 2, first[-3000:]
    snapshot = {name: (root / name).read_text(encoding="utf-8") for name in compiled_before}
    assert main([str(root)]) == 0, capsys.readouterr().out[-2000:]  # 0: nothing changed
    assert {name: (root / name).read_text(encoding="utf-8") for name in snapshot} == snapshot
