"""One scope model for the linter and the fixers (issue 9, item 1): the fixers build no
scopes of their own, they read the very model the linter built, and that model counts
bindings over whole scopes and resolves a followed variable where it was assigned."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import List

from flake8_rqjobs import checker
from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import ALL_CODES, engine, fixer_module
from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.fixers.engine import fix_source
from flake8_rqjobs.fixers.report import Options
from flake8_rqjobs.names import FileModel
from flake8_rqjobs.rules import FAMILIES
from flake8_rqjobs.rules.redis_clients import ClientFacts, UrlStatus

FIXERS = Path(engine.__file__).parent
# What building scopes with libcst would need: its metadata providers, or a visitor that
# looks at bindings (names, assignments, imports, definitions, parameters, declarations).
_OWN_SCOPES = re.compile(
    r"libcst\.metadata|ScopeProvider|QualifiedNameProvider|"
    r"def (?:visit|leave)_(?:Name|Assign|AnnAssign|AugAssign|Import|ImportFrom|FunctionDef|"
    r"ClassDef|Lambda|Param|Global|Nonlocal|For|CompFor|NamedExpr|AsName)\b|"
    r"\bbind_import(?:_from)?\b|\bimport_bindings\b"
)


def _fix(text: str, root: Path) -> engine.TextFix:
    return fix_source(
        text, str(root / "app/tasks.py"), Config(root=root), Options(select=ALL_CODES)
    )


def test_the_fixers_build_no_scopes_of_their_own() -> None:
    assert not (FIXERS / "scopes.py").exists()
    offenders = [
        f"{path.name}: {match.group(0)}"
        for path in sorted(FIXERS.glob("*.py"))
        for match in _OWN_SCOPES.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_fixers_read_the_model_the_linter_built(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    built: List[FileModel] = []
    seen: List[FileModel] = []
    check_file = checker.check_file

    def spy_check(tree: ast.Module, filename: str, config: Config) -> checker.Checked:
        checked = check_file(tree, filename, config)
        if checked.model is not None:
            built.append(checked.model)
        return checked

    monkeypatch.setattr(checker, "check_file", spy_check)
    for family in FAMILIES:
        module = fixer_module(family)
        original = module.analyse

        def spy_analyse(ctx: FixContext, original=original) -> None:  # type: ignore[no-untyped-def]
            seen.append(ctx.model)
            original(ctx)

        monkeypatch.setattr(module, "analyse", spy_analyse)
    text = 'import redis\nfrom rq import Queue\n\nq = Queue("x", connection=redis.Redis())\n'
    _fix(text, tmp_path)
    assert built and seen  # the first model built is the original file's (then the fixed text's)
    assert all(model is built[0] for model in seen)


LOOP = """import os

import redis

url = os.getenv("REDIS_URL")
for name in ("redis://a", "redis://b"):
    client = redis.Redis.from_url(url)
    url = name
"""


def test_a_later_rebinding_in_a_module_level_loop_means_not_bound_once(tmp_path: Path) -> None:
    (site,) = checker.check_source(LOOP, str(tmp_path / "app/tasks.py"), Config(root=tmp_path))
    assert isinstance(site.facts, ClientFacts) and site.facts.url is not None
    assert site.facts.url.status is UrlStatus.UNSEEN_VARIABLE
    result = _fix(LOOP, tmp_path)
    assert result.new is None and not result.fixes
    (manual,) = result.manual
    assert manual.code == "RQJ001" and "url" in manual.reason


def test_a_straight_line_later_rebinding_is_counted_too(tmp_path: Path) -> None:
    text = LOOP.replace('for name in ("redis://a", "redis://b"):\n    ', "").replace(
        "    url = name", 'url = "redis://b"'
    )
    assert "for" not in text
    assert _fix(text, tmp_path).new is None


SHADOWED_LATER = """import os

import redis

URL = os.getenv("REDIS_URL")


def connect(os):
    return redis.Redis.from_url(URL)
"""

IMPORTED_LATER = """import redis


def getenv(name):
    return "redis://elsewhere"


URL = getenv("REDIS_URL")
from os import getenv  # noqa: E402

client = redis.Redis.from_url(URL)
"""


def test_a_followed_variable_is_resolved_where_it_was_assigned(tmp_path: Path) -> None:
    # ``os`` is a parameter where URL is used, but os.getenv where URL was assigned
    result = _fix(SHADOWED_LATER, tmp_path)
    assert result.fixes == {"RQJ001": 1}
    assert result.new is not None and "get_redis()" in result.new
    # and the other way round: getenv is os.getenv only after URL was assigned
    result = _fix(IMPORTED_LATER, tmp_path)
    assert result.new is None and not result.fixes
    (manual,) = result.manual
    assert manual.code == "RQJ001"
