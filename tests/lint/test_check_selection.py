"""Selection (ruff's semantics) on the command line and in ``[tool.rqjobs]``, and
``[tool.rqjobs] per-file-ignores``."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_rqjobs.project import Selection, resolve_selection

from .helpers import check, write_project

KNOWN = ("RQJ001", "RQJ002", "RQJ003", "RQJ100", "RQJ200", "E902", "E999")
BODY = "import redis\nfrom rq import Queue\n\nc = redis.Redis()\nq = Queue('x')\nq.enqueue(print)\n"


@pytest.mark.parametrize(
    "layers, expected",
    [
        ([], {"RQJ001", "RQJ002", "RQJ003", "RQJ100", "RQJ200", "E902", "E999"}),
        ([Selection(select=("RQJ0",))], {"RQJ001", "RQJ002", "RQJ003", "E902", "E999"}),
        (
            [Selection(select=("RQJ001",), extend_select=("RQJ2",))],
            {"RQJ001", "RQJ200", "E902", "E999"},
        ),
        # the more specific prefix wins, whatever the order
        ([Selection(select=("RQJ001",), ignore=("RQJ",))], {"RQJ001", "E902", "E999"}),
        ([Selection(select=("RQJ",), ignore=("RQJ0",))], {"RQJ100", "RQJ200", "E902", "E999"}),
        # equal length: ignore wins
        ([Selection(select=("RQJ001",), ignore=("RQJ001",))], {"E902", "E999"}),
        # a later layer's select replaces, its ignore extends
        (
            [Selection(ignore=("RQJ1",)), Selection(extend_ignore=("RQJ2", "E9"))],
            {"RQJ001", "RQJ002", "RQJ003"},
        ),
        (
            [Selection(ignore=("RQJ0",)), Selection(select=("RQJ00",))],
            {"RQJ001", "RQJ002", "RQJ003", "E902", "E999"},
        ),
        (
            [Selection(select=("ALL",), ignore=("E",))],
            {"RQJ001", "RQJ002", "RQJ003", "RQJ100", "RQJ200"},
        ),
    ],
)
def test_resolve_selection(layers: list, expected: set) -> None:
    assert resolve_selection(layers, KNOWN) == frozenset(expected)


def codes(root: Path, *args: str) -> list:
    return sorted({f.code for f in check(root, *args, ".").findings})


def test_command_line_selection(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": BODY})
    assert codes(tmp_path) == ["RQJ001", "RQJ002", "RQJ003"]
    assert codes(tmp_path, "--select", "RQJ001") == ["RQJ001"]
    assert codes(tmp_path, "--select", "RQJ001", "--extend-select", "RQJ003") == [
        "RQJ001",
        "RQJ003",
    ]
    assert codes(tmp_path, "--ignore", "RQJ00") == []
    assert codes(tmp_path, "--ignore", "RQJ00", "--select", "RQJ002") == ["RQJ002"]
    assert codes(tmp_path, "--extend-ignore", "RQJ001,RQJ003") == ["RQJ002"]
    assert check(tmp_path, "--select", "RQJ00", ".").returncode == 1
    assert check(tmp_path, "--select", "RQJ9", ".").returncode == 2  # no such rule


def test_pyproject_selection_and_command_line_on_top(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": BODY}, pyproject={"select": ["RQJ001", "RQJ002"]})
    assert codes(tmp_path) == ["RQJ001", "RQJ002"]
    assert codes(tmp_path, "--extend-ignore", "RQJ001") == ["RQJ002"]
    assert codes(tmp_path, "--select", "RQJ003") == ["RQJ003"]
    write_project(tmp_path, {"a.py": BODY}, pyproject={"ignore": ["RQJ002"]})
    assert codes(tmp_path) == ["RQJ001", "RQJ003"]
    assert codes(tmp_path, "--extend-select", "RQJ002") == ["RQJ001", "RQJ002", "RQJ003"]


def test_pyproject_per_file_ignores_like_ruff(tmp_path: Path) -> None:
    files = {
        "tests/test_a.py": BODY,
        "tests/unit/test_b.py": BODY,
        "app/a.py": BODY,
        "app/b.py": BODY,
    }
    write_project(tmp_path, files)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.rqjobs.per-file-ignores]\n"
        '"tests/*" = ["RQJ00"]\n'
        '"b.py" = ["RQJ001"]\n'  # a base name matches anywhere
        '"!app/*" = ["RQJ003"]\n',  # negated: every file outside app/
        encoding="utf-8",
    )
    found = sorted((f.path, f.code) for f in check(tmp_path, ".").findings)
    assert found == [
        ("./app/a.py", "RQJ001"),
        ("./app/a.py", "RQJ002"),
        ("./app/a.py", "RQJ003"),
        ("./app/b.py", "RQJ002"),
        ("./app/b.py", "RQJ003"),
    ]
    # Relative to the pyproject's folder, also when run from elsewhere.
    elsewhere = check(tmp_path / "app", "..")
    assert sorted((Path(f.path).name, f.code) for f in elsewhere.findings) == sorted(
        (Path(p).name, c) for p, c in found
    )


def test_flake8_ignores_still_apply(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": BODY}, flake8_cfg={"extend-ignore": "RQJ002"})
    assert codes(tmp_path) == ["RQJ001", "RQJ003"]
