"""A removed statement never takes an effect with it: the fixers decline, naming it, and the
engine's verification refuses a fix after which a name bound in removed code is still read."""

from __future__ import annotations

from pathlib import Path

from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.fixers.engine import _lost_bindings, fix_source, verify
from flake8_rqjobs.fixers.report import Options


def test_lost_bindings_names_what_removed_code_bound() -> None:
    before = "def f():\n    g(n := 60)\n    return n\n"
    after = "def f():\n    return n\n"
    assert _lost_bindings(before, after) == ["n"]
    assert _lost_bindings(before, before) == []
    # A name bound elsewhere too, an import, a parameter: still bound.
    assert _lost_bindings("import os\nx = 1\nprint(x, os)\n", "import os\nprint(os)\n") == []


def test_verify_refuses_a_fix_that_leaves_a_name_unbound(tmp_path: Path) -> None:
    before = "def f():\n    g(n := 60)\n    return n\n"
    after = "def f():\n    return n\n"
    config = Config(root=tmp_path)
    problem = verify(before, after, str(tmp_path / "m.py"), config, Options(ALL_CODES), [], set())
    assert problem == "the fix removes the binding of n, which is still read"


def test_walrus_in_a_starter_is_a_manual_fix(tmp_path: Path) -> None:
    text = "from app.s import start_x_scheduler\n\nstart_x_scheduler(n := 60)\nprint(n)\n"
    result = fix_source(text, str(tmp_path / "app.py"), Config(root=tmp_path), Options(ALL_CODES))
    assert result.new is None
    (manual,) = result.manual
    assert manual.reason.startswith("the starter's arguments bind n (n := 60)")
