"""One file named under several spellings (``app/use.py`` and ``./app/use.py`` from ``.``):
the project facts are looked up by the same root-relative path whatever the spelling, so
every spelling gets the same findings, and each spelling is reported as flake8 reports it
(flake8 does not merge two spellings of one file: ``flake8 app/use.py .`` reports both)."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from .helpers import Finding, check, flake8, write_project

QUEUES = (
    'from redis import Redis\nfrom rq import Queue\n\nq = Queue("default", connection=Redis())\n'
)
# No rq or redis import here: only the project facts (app/queues.py's q) make q a queue.
USE_ABSOLUTE = "from app.queues import q\n\n\ndef go():\n    q.enqueue(print, 1)\n"
USE_RELATIVE = USE_ABSOLUTE.replace("from app.queues", "from .queues")


def _project(root: Path, use: str) -> Path:
    return write_project(root, {"app/__init__.py": "", "app/queues.py": QUEUES, "app/use.py": use})


def _rqj003(found: List[Finding]) -> List[str]:
    return sorted(f.path for f in found if f.code == "RQJ003")


@pytest.mark.parametrize("use", [USE_ABSOLUTE, USE_RELATIVE], ids=["absolute", "relative"])
@pytest.mark.parametrize(
    "paths",
    [
        ("app/use.py", "."),
        (".", "app/use.py"),
        ("./app/use.py", "app/use.py"),
        ("app/use.py", "app"),
        ("app/use.py", "./app"),
    ],
)
def test_every_spelling_gets_the_facts(tmp_path: Path, use: str, paths: List[str]) -> None:
    root = _project(tmp_path / "project", use)
    expected = flake8(root, *paths).findings
    assert len(_rqj003(expected)) == len(paths)  # flake8 reports each spelling
    for args in (["--no-cache", "-j1"], ["-j1"], ["-j1"], ["--no-cache", "-j2"]):
        assert check(root, *args, *paths).findings == expected, args


def test_same_spelling_twice_is_reported_twice_as_flake8_does(tmp_path: Path) -> None:
    root = _project(tmp_path / "project", USE_ABSOLUTE)
    expected = flake8(root, "app/use.py", "app/use.py").findings
    assert _rqj003(expected) == ["app/use.py", "app/use.py"]
    assert check(root, "--no-cache", "app/use.py", "app/use.py").findings == expected


def test_absolute_spelling(tmp_path: Path) -> None:
    root = _project(tmp_path / "project", USE_RELATIVE)
    absolute = str(root / "app" / "use.py")
    expected = flake8(root, "app/use.py", absolute).findings
    assert _rqj003(expected) == sorted([absolute, "app/use.py"])
    assert check(root, "--no-cache", "app/use.py", absolute).findings == expected
