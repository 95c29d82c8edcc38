"""``flake8-rqjobs fix --check`` over the interpreter's whole standard library: no crash, no
change, exit 0. And the libcst failures seen on stdlib files are reported, never raised."""

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
