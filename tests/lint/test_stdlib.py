"""The plugin never raises: every .py file of the interpreter's standard library.

Cheap by design: each file is parsed once and handed to the same code flake8 runs
(``check_tree`` without the plugin's safety net, then ``Plugin(...).run()``); files that do
not parse go through ``flake8-rqjobs check``'s file path (which must report, not raise); one
real flake8 run covers a small sample, unparseable files included.
"""

from __future__ import annotations

import ast
import os
import sysconfig
import warnings
from pathlib import Path
from typing import List, Optional

import pytest

from flake8_rqjobs.check_command import check_file
from flake8_rqjobs.checker import check_tree
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
    """What flake8 runs (prefilter, then the visitor where it may fire) on every file, with
    the plugin's exception guard turned into a failure."""
    monkeypatch.setattr(Plugin, "config", Config(root=STDLIB))
    files = stdlib_files()
    assert len(files) > 500
    parsed = unparseable = 0
    for path in files:
        data = path.read_bytes()
        tree = _parse(data, path)
        if tree is None:
            unparseable += 1
            violations, error = check_file(str(path), Plugin.config)  # reports, not raises
            assert violations == []
            continue
        parsed += 1
        lines = data.decode("utf-8", "replace").splitlines(keepends=True)
        plugin = Plugin(tree, str(path), lines)
        assert plugin._violations() == [], path  # run() minus its guard: raises here
        assert list(plugin.run()) == []
    assert parsed > 500
    assert unparseable >= 1  # the stdlib ships test files that do not parse


@pytest.mark.slow
def test_visitor_never_raises_without_the_prefilter() -> None:
    """A stress test: the full visitor on every parseable stdlib file (no prefilter)."""
    config = Config(root=STDLIB)
    for path in stdlib_files():
        tree = _parse(path.read_bytes(), path)
        if tree is not None:
            assert check_tree(tree, str(path), config) == [], path


@pytest.mark.smoke
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
