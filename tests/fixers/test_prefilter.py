"""The fixers' cheap prefilter builds on the linter's public prefilter only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flake8_rqjobs.checker import might_violate, prefilter_tokens
from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers.engine import fix_bytes, might_need_fix
from flake8_rqjobs.fixers.report import Options

FIXERS = Path(__file__).resolve().parents[2] / "flake8_rqjobs" / "fixers"


def test_fixers_import_no_private_name_of_the_linter() -> None:
    private = []
    for path in sorted(FIXERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "flake8_rqjobs.checker"
            ):
                private += [f"{path.name}: {a.name}" for a in node.names if a.name[0] == "_"]
    assert private == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("import redis\nr = redis.Redis.from_url(u)\n", True),
        ("from rq import Queue\n", True),
        ("def redistribute(sqrt_irq):\n    return 1\n", False),  # no whole-word redis/rq
        ("import math\n", False),
        ("enqueue('q', f)\n", True),
    ],
)
def test_fix_prefilter_is_the_linter_prefilter_or_stricter(text: str, expected: bool) -> None:
    config = Config(root=Path("/nonexistent"))
    assert might_need_fix(text, "/nonexistent/app/x.py", config) is expected
    if expected:
        assert might_violate(text, config)
    assert all(token.isascii() for token in prefilter_tokens(config))


def test_bytes_without_any_token_are_not_decoded() -> None:
    config = Config(root=Path("/nonexistent"))
    data = b"# -*- coding: no-such-codec -*-\nx = 1\n"  # decoding it would fail
    result = fix_bytes(data, "/nonexistent/app/x.py", config, Options(select=("RQJ001",)))
    assert result.skipped is None and result.error is None and not result.changed
