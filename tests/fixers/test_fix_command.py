"""``flake8-rqjobs fix`` end to end on files: bytes kept, nothing written under --check/--diff,
exit codes, bad input left byte-identical."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

from flake8_rqjobs.commands.fix import main

LEGACY = textwrap.dedent(
    """\
    import os

    from redis import Redis

    client = Redis.from_url(os.getenv("REDIS_URL"))
    """
)
FIXED = textwrap.dedent(
    """\
    from rqjobs import get_redis

    client = get_redis()
    """
)
MANUAL = 'from redis import Redis\n\nother = Redis.from_url("redis://cache:6379/1")\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.rqjobs]\nmax-tick = 15\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(root: Path, files: Dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _snapshot(root: Path) -> Dict[str, tuple]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*.py"))
    }


def test_fixes_and_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(project, {"app/clients.py": LEGACY.encode(), "app/other.py": MANUAL.encode()})
    assert main(["app"]) == 1
    out = capsys.readouterr().out
    assert (project / "app/clients.py").read_text() == FIXED
    assert (project / "app/other.py").read_text() == MANUAL
    assert "app/clients.py: fixed RQJ001 x1" in out
    assert "app/other.py:3: RQJ001 manual fix:" in out
    assert "1 file changed, 1 fixes (RQJ001 1), 1 manual fix left" in out
    assert main(["app"]) == 0  # a second run changes nothing


@pytest.mark.smoke
def test_check_and_diff_write_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(project, {"app/clients.py": LEGACY.encode()})
    before = _snapshot(project)
    assert main(["--check", "app"]) == 1
    assert "would fix RQJ001 x1" in capsys.readouterr().out
    assert main(["--diff", "app"]) == 1
    captured = capsys.readouterr()
    assert '-client = Redis.from_url(os.getenv("REDIS_URL"))' in captured.out
    assert "+client = get_redis()" in captured.out
    assert "1 file would change" in captured.err  # the summary goes to stderr under --diff
    assert _snapshot(project) == before


def test_bom_crlf_and_encoding_are_kept(project: Path) -> None:
    crlf = LEGACY.replace("\n", "\r\n").encode()
    latin = ("# -*- coding: latin-1 -*-\n# café\n" + LEGACY).encode("latin-1")
    _write(project, {"bom.py": codecs.BOM_UTF8 + crlf, "latin.py": latin})
    assert main(["bom.py", "latin.py"]) == 1
    bom = (project / "bom.py").read_bytes()
    assert bom == codecs.BOM_UTF8 + FIXED.replace("\n", "\r\n").encode()
    latin_out = (project / "latin.py").read_bytes()
    assert latin_out == ("# -*- coding: latin-1 -*-\n# café\n" + FIXED).encode("latin-1")


def test_bad_files_are_left_byte_identical(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        # does not parse at all
        "broken.py": b"import redis\n\ndef f(:\n    redis.from_url(1)\n",
        # libcst 1.9 prints ``except ValueError :`` back without the space (LibCST#1457)
        "spaced_except.py": (LEGACY + "try:\n    pass\nexcept ValueError :\n    pass\n").encode(),
        # not UTF-8 and no coding cookie
        "latin_no_cookie.py": ("# caf\xe9\n" + LEGACY).encode("latin-1"),
    }
    _write(project, files)
    assert main(list(files)) == 0
    out = capsys.readouterr().out
    for name, data in files.items():
        assert (project / name).read_bytes() == data
        assert f"{name}: skipped:" in out
    assert "broken.py: skipped: does not parse" in out
    assert "spaced_except.py: skipped: libcst does not print this file back exactly" in out


def test_code_that_parses_but_does_not_compile_is_still_fixed(project: Path) -> None:
    # a repeated keyword argument: ast.parse accepts it, compile() rejects it
    source = LEGACY + "print(sep='', sep='')\n"
    _write(project, {"dup.py": source.encode()})
    assert main(["dup.py"]) == 1
    assert (project / "dup.py").read_text() == FIXED + "print(sep='', sep='')\n"


def test_wrapper_modules_are_never_touched(project: Path) -> None:
    _write(project, {"app/services/jobs.py": LEGACY.encode()})
    before = _snapshot(project)
    assert main(["app"]) == 0
    assert _snapshot(project) == before


def test_noqa_is_honoured(project: Path) -> None:
    source = LEGACY.replace('"REDIS_URL"))', '"REDIS_URL"))  # noqa: RQJ001')
    _write(project, {"quiet.py": source.encode()})
    assert main(["quiet.py"]) == 0
    assert (project / "quiet.py").read_text() == source


def test_select_limits_the_fixers(project: Path) -> None:
    source = LEGACY + "\n\ndef boot():\n    start_reminder_scheduler()\n"
    _write(project, {"a.py": source.encode()})
    assert main(["--select", "RQJ1", "a.py"]) == 1
    text = (project / "a.py").read_text()
    assert "Redis.from_url" in text and "start_reminder_scheduler" not in text
    assert main(["--select", "RQJ0", "a.py"]) == 1
    assert "get_redis()" in (project / "a.py").read_text()


def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(project, {"a.py": LEGACY.encode()})
    assert main(["missing.py"]) == 2
    assert main(["--select", "XYZ9", "a.py"]) == 2
    assert main(["-j", "0", "a.py"]) == 2
    assert main([]) == 2
    (project / "pyproject.toml").write_text("[tool.rqjobs]\nmax-tik = 15\n")
    assert main(["a.py"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "max-tik" in err
    assert (project / "a.py").read_bytes() == LEGACY.encode()


def test_wrapper_module_option(project: Path) -> None:
    _write(project, {"a.py": LEGACY.encode()})
    assert main(["--wrapper-module", "services.jobs", "a.py"]) == 1
    assert (project / "a.py").read_text() == FIXED.replace("rqjobs", "services.jobs")


def test_parallel_run_matches_serial(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {f"pkg/m{i}.py": (LEGACY if i % 2 else MANUAL).encode() for i in range(8)}
    _write(project / "one", files)
    _write(project / "two", files)
    assert main(["--check", "one"]) == 1
    serial = capsys.readouterr().out.replace("one/", "")
    assert main(["-j", "2", "--check", "two"]) == 1
    parallel = capsys.readouterr().out.replace("two/", "")
    assert serial == parallel
    assert main(["-j", "2", "two"]) == 1
    assert all(
        (project / "two" / name).read_text() == (FIXED if int(name[5:-3]) % 2 else MANUAL)
        for name in files
    )


def test_console_script(project: Path) -> None:
    _write(project, {"a.py": LEGACY.encode()})
    exe = Path(sys.executable).with_name("flake8-rqjobs")
    command: List[str] = [str(exe)] if exe.exists() else [sys.executable, "-m", "flake8_rqjobs.cli"]
    done = subprocess.run([*command, "fix", "--check", "a.py"], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "a.py: would fix RQJ001 x1" in done.stdout
    assert os.path.getsize(project / "a.py") == len(LEGACY.encode())


def test_file_level_noqa_is_honoured(project: Path) -> None:
    source = "# flake8: noqa\n" + LEGACY
    _write(project, {"quiet.py": source.encode()})
    assert main(["quiet.py"]) == 0
    assert (project / "quiet.py").read_text() == source


MODULE_QUEUE = textwrap.dedent(
    """\
    from rq import Queue

    from rqjobs import get_redis

    jobs_queue = Queue("jobs", connection=get_redis())


    def submit(func):
        return jobs_queue.enqueue(func)
    """
)


def test_module_variable_imported_by_another_file_is_kept(project: Path) -> None:
    _write(
        project,
        {
            "app/queues.py": MODULE_QUEUE.encode(),
            "app/stats.py": b"from app.queues import jobs_queue\n\nsize = jobs_queue.count\n",
        },
    )
    assert main(["app"]) == 1
    fixed = (project / "app/queues.py").read_text()
    assert 'jobs_queue = get_queue("jobs")' in fixed
    assert 'return enqueue("jobs", func)' in fixed
    assert main(["app"]) == 0


def test_module_variable_used_nowhere_else_goes(project: Path) -> None:
    _write(project, {"app/queues.py": MODULE_QUEUE.encode(), "app/other.py": b"x = 1\n"})
    assert main(["-j", "2", "app"]) == 1
    fixed = (project / "app/queues.py").read_text()
    assert "jobs_queue" not in fixed and 'return enqueue("jobs", func)' in fixed


def test_diff_marks_a_missing_final_newline(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project, {"a.py": LEGACY.rstrip("\n").encode()})
    assert main(["--diff", "a.py"]) == 1
    out = capsys.readouterr().out
    assert out.endswith("+client = get_redis()\n\\ No newline at end of file\n")
    assert out.count("\\ No newline at end of file") == 2


def test_flake8_config_is_read_like_the_plugin(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flake8 config file's rqjobs-* keys and its exclude/extend-exclude apply to fix as
    they do to the plugin: excluded files are never touched, even when named explicitly."""
    (project / ".flake8").write_text(
        "[flake8]\nextend-exclude = migrations,legacy/old.py\n"
        "rqjobs-wrapper-module = app.services.jobs\n"
    )
    _write(
        project,
        {
            "app/clients.py": LEGACY.encode(),
            "app/migrations/m.py": LEGACY.encode(),
            "legacy/old.py": LEGACY.encode(),
        },
    )
    before = _snapshot(project)
    assert main(["app", "legacy/old.py"]) == 1
    after = _snapshot(project)
    assert after["app/migrations/m.py"] == before["app/migrations/m.py"]
    assert after["legacy/old.py"] == before["legacy/old.py"]
    assert (project / "app/clients.py").read_text() == FIXED.replace("rqjobs", "app.services.jobs")
    assert "1 file changed" in capsys.readouterr().out
