"""``flake8-rqjobs check`` exit codes (ruff's): 0 clean, 1 findings or errors, 2 usage or
configuration; E902/E999 are reported in the output and count; one bad file never stops the
run; deeply nested expressions parse and are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_rqjobs.commands.check import main as check_main

from .helpers import check, flake8, write_project

FINDING = "import redis\nclient = redis.Redis()\n"


def test_exit_0_when_clean(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": "import redis\n", "b.py": "x = 1\n"})
    run = check(tmp_path, ".")
    assert (run.returncode, run.stdout) == (0, "")


def test_exit_1_on_findings_and_exit_zero(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": FINDING})
    assert check(tmp_path, ".").returncode == 1
    assert check(tmp_path, "--exit-zero", ".").returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ("--no-such-flag", "."),
        ("--output-format", "xml", "."),
        ("--select", "XYZ9", "."),
        ("--rqjobs-max-tick=0", "."),
        ("-j", "-1", "."),
        ("--config", "missing.toml", "."),
    ],
)
def test_exit_2_on_usage_errors(tmp_path: Path, args: tuple) -> None:
    write_project(tmp_path, {"a.py": FINDING})
    run = check(tmp_path, *args)
    assert run.returncode == 2, run
    assert run.stdout == ""
    assert run.stderr.strip()
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "table",
    [
        {"max-tick": -1},
        {"select": ["NOPE"]},
        {"output-format": "html"},
        {"unknown-key": 1},
    ],
)
def test_exit_2_on_bad_configuration(tmp_path: Path, table: dict) -> None:
    write_project(tmp_path, {"a.py": FINDING}, pyproject=table)
    run = check(tmp_path, ".")
    assert run.returncode == 2, run
    assert run.stderr.startswith("flake8-rqjobs: ")
    assert "Traceback" not in run.stderr


def test_bad_per_file_ignores_table_is_exit_2(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": FINDING})
    (tmp_path / "pyproject.toml").write_text(
        '[tool.rqjobs]\nper-file-ignores = ["tests/*"]\n', encoding="utf-8"
    )
    run = check(tmp_path, ".")
    assert run.returncode == 2 and "per-file-ignores" in run.stderr


def test_missing_path_is_e902_and_counts(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": "x = 1\n"})
    run = check(tmp_path, "a.py", "nonexist")
    assert run.returncode == 1
    assert run.stdout == (
        "nonexist:1:1: E902 FileNotFoundError: [Errno 2] No such file or directory: 'nonexist'\n"
    )
    # As flake8 reports it (flake8 says line 0).
    assert flake8(tmp_path, "--select", "E902", "nonexist").stdout.replace(":0:", ":1:") == (
        run.stdout
    )


def test_missing_path_that_is_excluded_is_not_an_error(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": "x = 1\n"}, flake8_cfg={"extend-exclude": "gone"})
    assert check(tmp_path, "a.py", "gone").returncode == 0


def test_errors_can_be_ignored(tmp_path: Path) -> None:
    write_project(tmp_path, {"bad.py": "import rq\ndef f(:\n"})
    assert check(tmp_path, ".").returncode == 1
    assert check(tmp_path, "--ignore", "E999", ".").returncode == 0
    assert check(tmp_path, "--extend-ignore", "E9", "nonexist", ".").returncode == 0


def test_one_bad_file_never_hides_findings_elsewhere(tmp_path: Path) -> None:
    deep = "import redis\nx = " + " + ".join(["1"] * 3000) + "\nredis.Redis()\n"
    write_project(
        tmp_path,
        {
            "a_bad.py": "import rq\ndef f(:\n",
            "b_deep.py": deep,
            "c_nul.py": "import rq\x00\n",
            "d_good.py": FINDING,
        },
    )
    run = check(tmp_path, "-j1", ".")
    codes = [(f.path, f.code) for f in run.findings]
    assert codes == [
        ("./a_bad.py", "E999"),
        ("./b_deep.py", "RQJ001"),
        ("./c_nul.py", "E999"),
        ("./d_good.py", "RQJ001"),
    ]
    assert "Traceback" not in run.stderr
    assert run.returncode == 1


@pytest.mark.parametrize("terms", [600, 3000, 20000])
def test_deeply_nested_expressions_are_checked(tmp_path: Path, terms: int) -> None:
    """Between ~500 and ~3,000 terms the visitor used to skip the file, above ~3,000
    ast.parse itself overflowed and killed the run: now they are checked like any file."""
    body = "import redis\nx = " + " + ".join(["1"] * terms) + "\nc = redis.Redis()\n"
    write_project(tmp_path, {"deep.py": body})
    run = check(tmp_path, "--no-cache", "deep.py")
    assert [(f.line, f.code) for f in run.findings] == [(3, "RQJ001")], run.stderr
    assert run.returncode == 1


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from flake8_rqjobs import __version__

    assert check_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"flake8-rqjobs {__version__}"


def test_hint_when_config_excludes_everything(tmp_path: Path) -> None:
    write_project(tmp_path, {"app/jobs.py": FINDING}, flake8_cfg={"exclude": "app"})
    run = check(tmp_path, ".")
    assert run.returncode == 0 and run.stdout == ""
    assert "excluded by config" in run.stderr and ".flake8" in run.stderr
    assert check(tmp_path, "-q", ".").stderr == ""
