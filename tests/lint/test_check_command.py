"""``flake8-rqjobs check``: noqa exactly as flake8, discovery, output, exit status."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flake8_rqjobs.commands.check import main as check_main

from .helpers import check, flake8, write_project

NOQA_FORMS = '''\
from rq import Queue

a = Queue("a")  # noqa
b = Queue("b")  # noqa: RQJ002
c = Queue("c")  # noqa:RQJ002
d = Queue("d")  # noqa:RQJ0
e = Queue("e")  # noqa: RQJ
f = Queue("f")  # noqa : RQJ001
g = Queue("g")  # noqa: RQJ001
h = Queue("h")  # noqa: E501,W291
i = Queue("i")  # NoQA: rqj002
j = Queue(
    "j",
)  # noqa: RQJ002
k = Queue(  # noqa: RQJ002
    "k",
)
m = Queue("""m
""")  # noqa: RQJ002
n = Queue("n")  # noqa: RQJ001, RQJ002
o = Queue("o")
'''
# Reported: g (other code), h (other codes), i (lower-case code: not a code to flake8),
# j (noqa on the closing line), o (none).
EXPECTED_LINES = [9, 10, 11, 12, 21]


@pytest.mark.smoke
def test_noqa_forms_match_flake8(tmp_path: Path) -> None:
    write_project(tmp_path, {"app/noqa_forms.py": NOQA_FORMS})
    via_flake8 = flake8(tmp_path, ".")
    via_check = check(tmp_path, ".")
    assert via_check.stdout == via_flake8.stdout
    assert [f.line for f in via_check.findings] == EXPECTED_LINES
    assert via_check.returncode == via_flake8.returncode == 1


def test_file_level_noqa(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": "# flake8: noqa\nfrom rq import Queue\nQueue('x')\n"})
    assert flake8(tmp_path, ".").findings == check(tmp_path, ".").findings == []


def test_output_format_and_exit_status(tmp_path: Path) -> None:
    write_project(tmp_path, {"pkg/m.py": "import redis\n\nx = 1; c = redis.Redis()\n"})
    run = check(tmp_path, "pkg")
    assert run.returncode == 1
    assert run.stdout.startswith("pkg/m.py:3:12: RQJ001 redis.Redis() builds a Redis client")
    assert run.stdout.count("\n") == 1
    assert check(tmp_path, "--exit-zero", "pkg").returncode == 0
    (tmp_path / "pkg" / "m.py").write_text("import redis\n", encoding="utf-8")
    clean = check(tmp_path, "pkg")
    assert (clean.returncode, clean.stdout) == (0, "")


def test_unparseable_file_is_an_e999_that_counts(tmp_path: Path) -> None:
    """A file that does not parse is reported as flake8 reports it (E999, same position and
    text), in the output, and counts for the exit status (flake8's --select RQJ hides it)."""
    write_project(
        tmp_path,
        {"bad.py": "import redis\ndef f(:\n    pass\n", "nul.py": "import rq\x00\n"},
    )
    run = check(tmp_path, ".")
    assert run.returncode == 1
    try:  # a NUL byte is a SyntaxError from Python 3.11.4 on, a ValueError before
        compile("import rq\x00\n", "nul.py", "exec")
    except (SyntaxError, ValueError) as exc:
        nul_error = type(exc).__name__
    assert run.stdout.splitlines() == [
        f"./bad.py:2:{8 if sys.version_info >= (3, 10) else 7}: E999 SyntaxError: invalid syntax",
        f"./nul.py:1:1: E999 {nul_error}: source code string cannot contain null bytes",
    ]
    if nul_error == "ValueError":
        (tmp_path / "nul.py").unlink()  # flake8 itself dies with a traceback on that file
        run = check(tmp_path, ".")
    assert flake8(tmp_path, ".").stdout == ""
    flake8_e999 = flake8(tmp_path, "--select", "E999", ".")
    assert sorted(run.stdout.splitlines()) == sorted(flake8_e999.stdout.splitlines())


def test_discovery(tmp_path: Path) -> None:
    body = "import redis\nredis.Redis()\n"
    write_project(
        tmp_path,
        {
            "src/a.py": body,
            "src/sub/b.py": body,
            "src/notes.txt": body,
            "src/.git/c.py": body,
            "src/__pycache__/d.py": body,
            "src/build.egg/e.py": body,
            "script": body,
        },
    )
    run = check(tmp_path, "src", "script")
    assert sorted(f.path for f in run.findings) == ["script", "src/a.py", "src/sub/b.py"]
    flake8_run = flake8(tmp_path, "src", "script")
    assert run.findings == flake8_run.findings


def test_main_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    write_project(tmp_path, {"a.py": "from rq import Queue as Q\nQ()\n"})
    monkeypatch.chdir(tmp_path)
    assert check_main(["a.py"]) == 1
    assert capsys.readouterr().out.startswith("a.py:2:1: RQJ002 Q() builds an RQ queue")
    assert check_main(["--rqjobs-max-tick=0", "a.py"]) == 2
    assert "--rqjobs-max-tick must be a positive number" in capsys.readouterr().err


def test_sanctioned_and_prefiltered_files_are_not_parsed(tmp_path: Path) -> None:
    """A syntax error in a file with no trigger name, or in the wrapper, is never parsed."""
    write_project(
        tmp_path,
        {"plain.py": "def f(:\n", "app/services/jobs.py": "import redis\ndef f(:\n"},
    )
    run = check(tmp_path, ".")
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_flake8_ignores_are_honoured_like_flake8(tmp_path: Path) -> None:
    """ignore / extend-ignore / per-file-ignores in the flake8 config: same result as
    ``flake8 --select RQJ`` (a code shorter than RQJ loses to the explicit select)."""
    body = "import redis\nfrom rq import Queue\n\nc = redis.Redis()\nq = Queue('x')\n"
    files = {
        "tests/test_a.py": body,
        "tests/unit/test_b.py": body,
        "app/a.py": body,
        "app/b.py": body,
    }
    cfg = {
        "extend-ignore": "E501",
        "per-file-ignores": "\n    tests/*: RQJ001,RQJ002\n    tests/unit/*: RQJ001\n"
        "    app/b.py: R\n    a.py: RQJ0",
    }
    write_project(tmp_path, files, flake8_cfg=cfg)
    via_flake8, via_check = flake8(tmp_path, "."), check(tmp_path, ".")
    assert via_check.findings == via_flake8.findings
    assert sorted((f.path, f.code) for f in via_check.findings) == [
        ("./app/b.py", "RQJ001"),
        ("./app/b.py", "RQJ002"),
        ("./tests/unit/test_b.py", "RQJ002"),
    ]
    (tmp_path / ".flake8").write_text("[flake8]\nignore = RQJ002\n", encoding="utf-8")
    via_flake8, via_check = flake8(tmp_path, "."), check(tmp_path, ".")
    assert via_check.findings == via_flake8.findings
    assert {f.code for f in via_check.findings} == {"RQJ001"}


def test_exclude_and_extend_exclude_like_flake8(tmp_path: Path) -> None:
    """flake8's exclude / extend-exclude (config file and command line), explicit paths too:
    ``check`` lints exactly the files ``flake8 --select RQJ`` lints."""
    body = "import redis\nredis.Redis()\n"
    files = {
        "app/a.py": body,
        "app/migrations/m.py": body,
        "build/gen.py": body,
        ".venv/lib/rq/queue.py": body,
        "legacy/old.py": body,
        "app/__pycache__/c.py": body,
    }
    cfg = {"exclude": ".venv,build/", "extend-exclude": "migrations,legacy/old.py"}
    write_project(tmp_path, files, flake8_cfg=cfg)
    for args in (
        (".",),
        ("app", "legacy/old.py", "build/gen.py"),
        ("--extend-exclude", "app", "."),
        ("--exclude", "migrations", "."),
    ):
        via_flake8, via_check = flake8(tmp_path, *args), check(tmp_path, *args)
        assert via_check.findings == via_flake8.findings, args
    # The config's exclude replaces flake8's defaults (so __pycache__ is linted, as flake8
    # does); --exclude on the command line replaces the config's exclude in turn, while the
    # config's extend-exclude still applies.
    assert sorted(f.path for f in check(tmp_path, ".").findings) == [
        "./app/__pycache__/c.py",
        "./app/a.py",
    ]
    assert sorted(f.path for f in check(tmp_path, "--exclude", "migrations", ".").findings) == [
        "./.venv/lib/rq/queue.py",
        "./app/__pycache__/c.py",
        "./app/a.py",
        "./build/gen.py",
    ]
