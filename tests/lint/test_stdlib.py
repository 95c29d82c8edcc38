"""The plugin never raises: every .py file of the interpreter's standard library.

Cheap by design: the plugin runs on every file as flake8 runs it (prefilter first; parse and
visit only where the prefilter lets it through), and so does the check command's file path.
A slow stress test parses and visits every file without the prefilter and forces the check
command to parse everything, unparseable files included. One real flake8 run covers a small
sample, files that do not parse included.
"""

from __future__ import annotations

import ast
import os
import sysconfig
import warnings
from pathlib import Path
from typing import List, Optional

import pytest

from flake8_rqjobs.checker import check_tree, needs_check
from flake8_rqjobs.commands.check import check_file
from flake8_rqjobs.config import Config
from flake8_rqjobs.plugin import Plugin

from .helpers import flake8

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SKIP = {"site-packages", "dist-packages", "__pycache__"}


def stdlib_files() -> List[Path]:
    found = []
    for directory, dirs, files in os.walk(STDLIB):
        dirs[:] = sorted(d for d in dirs if d not in SKIP)
        found += [Path(directory, f) for f in sorted(files) if f.endswith(".py")]
    return found


def _parse(data: bytes, path: Path) -> Optional[ast.Module]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in old test files
        try:
            return ast.parse(data, str(path))
        except (SyntaxError, ValueError):
            return None


def test_plugin_never_raises_on_the_standard_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """What flake8 runs, on every file: the plugin's prefilter on the file's lines, and the
    visitor (without the plugin's exception guard) wherever the prefilter lets it run. Files
    the prefilter rejects are not parsed here (flake8 would pass a tree the plugin does not
    read); the slow test below parses and visits everything."""
    config = Config(root=STDLIB)
    monkeypatch.setattr(Plugin, "config", config)
    empty = ast.Module(body=[], type_ignores=[])
    files = stdlib_files()
    assert len(files) > 500
    visited = 0
    for path in files:
        data = path.read_bytes()
        lines = data.decode("utf-8", "replace").splitlines(keepends=True)
        if needs_check("".join(lines), str(path), config):
            tree = _parse(data, path)
            if tree is None:
                continue  # flake8 reports E999 and runs no tree plugin
            visited += 1
        else:
            tree = empty
        plugin = Plugin(tree, str(path), lines)
        assert plugin._violations() == [], path  # run() minus its guard: raises here
        assert list(plugin.run()) == []
        assert check_file(str(path), config)[0] == []  # the check command's path
    assert visited >= 5  # the prefilter lets some stdlib files through (sched.py, ...)


@pytest.mark.slow
def test_visitor_never_raises_without_the_prefilter() -> None:
    """A stress test: the full visitor on every stdlib file (no prefilter), and the check
    command's file path forced to parse every file (a scheduler-paths glob that matches
    all), so unparseable files are reported, not raised."""
    config = Config(root=STDLIB)
    everything = Config(root=STDLIB, scheduler_paths=("*",))
    unparseable = 0
    for path in stdlib_files():
        tree = _parse(path.read_bytes(), path)
        if tree is not None:
            assert check_tree(tree, str(path), config) == [], path
        violations, error = check_file(str(path), everything)
        assert violations == [] or tree is not None, path
        if error is not None:
            # Only for files that really do not parse (check decodes as flake8 does: a
            # file without a coding cookie that is not UTF-8 is read as latin-1).
            assert tree is None and "cannot parse" in error, error
            unparseable += 1
    assert unparseable >= 1  # the stdlib ships test files that do not parse


def test_flake8_run_over_a_sample(tmp_path: Path) -> None:
    """Real flake8 with the plugin over a sample that contains trigger names (so the visitor
    runs) and files that do not parse: no plugin error, no traceback."""
    wanted = ["sched.py", "queue.py", "asyncio/queues.py", "multiprocessing/queues.py"]
    wanted += ["concurrent/futures/process.py", "lib2to3/tests/data/py2_test_grammar.py"]
    sample = [str(STDLIB / name) for name in wanted if (STDLIB / name).exists()]
    sample += [str(p) for p in sorted((STDLIB / "test").glob("badsyntax_*.py"))[:3]]
    assert len(sample) >= 5
    run = flake8(tmp_path, "--select", "RQJ,E999", *sample)
    assert "Traceback" not in run.stderr, run.stderr
    assert "plugin" not in (run.stdout + run.stderr).lower()
    assert [f.code for f in run.findings if f.code.startswith("RQJ")] == []
