"""Python 3.12 syntax (issue 10, item 7): PEP 695 type aliases and generics, PEP 701 f-strings.

Under an interpreter that parses them the file is linted like any other (its findings are
reported); under one that does not (the CI also runs Python 3.9) ``check`` reports the file as
unparseable, an ``E999`` that counts for the exit status, as flake8 does: never silently
passed. The expectation is chosen by ``sys.version_info``, so the test runs on both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flake8_rqjobs.checker import check_source
from flake8_rqjobs.config import Config

from .helpers import check, flake8, write_project

PARSES = sys.version_info >= (3, 12)

# Each line below needs 3.12: a type alias, a generic function and class, an f-string whose
# replacement field reuses the outer quotes (and nests another f-string).
NEW_SYNTAX = """\
import redis

type Payload = dict[str, object]


def first[T](items: list[T]) -> T:
    return items[0]


class Box[T]:
    def __init__(self, item: T) -> None:
        self.item = item


def label(event: dict[str, str]) -> str:
    return f"{event["kind"]}:{f"{event["id"]!r}"}"


client = redis.Redis(host="cache")
"""
CLIENT_LINE = NEW_SYNTAX.splitlines().index('client = redis.Redis(host="cache")') + 1


def test_new_syntax_is_linted_or_reported_unparseable(tmp_path: Path) -> None:
    write_project(tmp_path, {"app/models.py": NEW_SYNTAX})
    run = check(tmp_path, ".")
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1  # a finding, or an error that counts
    codes = [row.split(": ", 1)[1].split()[0] for row in run.stdout.splitlines()]
    if PARSES:
        assert codes == ["RQJ001"], run.stdout
        assert run.stdout.startswith(f"./app/models.py:{CLIENT_LINE}:10: RQJ001 ")
    else:
        assert codes == ["E999"], run.stdout
        assert "SyntaxError" in run.stdout
        # The same position and text as flake8's own E999 for that file.
        flake8_e999 = flake8(tmp_path, "--select", "E999", ".")
        assert run.stdout.splitlines() == flake8_e999.stdout.splitlines()


def test_new_syntax_through_flake8(tmp_path: Path) -> None:
    write_project(tmp_path, {"app/models.py": NEW_SYNTAX})
    run = flake8(tmp_path, "--select", "RQJ,E999", ".")
    assert "Traceback" not in run.stderr, run.stderr
    codes = [finding.code for finding in run.findings]
    assert codes == (["RQJ001"] if PARSES else ["E999"]), run.stdout


def test_new_syntax_in_process(tmp_path: Path) -> None:
    filename = str(tmp_path / "app" / "models.py")
    if PARSES:
        sites = check_source(NEW_SYNTAX, filename, Config(root=tmp_path))
        assert [(s.line, s.code) for s in sites] == [(CLIENT_LINE, "RQJ001")]
    else:
        try:
            check_source(NEW_SYNTAX, filename, Config(root=tmp_path))
        except SyntaxError:
            pass
        else:  # pragma: no cover - only on an interpreter that cannot parse 3.12 syntax
            raise AssertionError("3.12 syntax parsed on an older interpreter")
