"""The code's layout keeps its promises: a rule is one rule module, one fixer module and one
example folder, found by the family's name; the prefilters are built from the rules' trigger
words; the linter half never imports the runtime; fixers import no command module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from flake8_rqjobs.checker import needs_check
from flake8_rqjobs.commands.docs import explain
from flake8_rqjobs.config import Config, apply_settings
from flake8_rqjobs.fixers import has_fixer
from flake8_rqjobs.fixers.engine import might_need_fix
from flake8_rqjobs.rules import ALL_RULES, FAMILIES

from .helpers import REPO, example_project

PACKAGE = REPO / "flake8_rqjobs"
EXAMPLES = REPO / "tests" / "fixers" / "examples"


def _imports(path: Path) -> Iterator[Tuple[str, int]]:
    """Every module ``path`` imports (absolute names; relative ones resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield base, node.lineno


def test_the_linter_half_never_imports_the_runtime() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, line in _imports(path)
        if name == "rqjobs" or name.startswith("rqjobs.")
    ]
    assert found == []
    code = (
        "import sys, flake8_rqjobs.plugin, flake8_rqjobs.cli, flake8_rqjobs.commands.check, "
        "flake8_rqjobs.commands.fix, flake8_rqjobs.commands.docs, flake8_rqjobs.fixers.engine\n"
        "from flake8_rqjobs.fixers import load_fixers\nload_fixers()\n"
        "import flake8_rqjobs.fixers.base\n"
        "assert not [m for m in sys.modules if m == 'rqjobs' or m.startswith('rqjobs.')]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_fixers_import_no_command_module() -> None:
    found = [
        f"{path.name}:{line}: {name}"
        for path in sorted((PACKAGE / "fixers").glob("*.py"))
        for name, line in _imports(path)
        if name.startswith("flake8_rqjobs.commands") or name == "flake8_rqjobs.cli"
    ]
    assert found == []


@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
def test_a_family_is_a_rule_module_a_fixer_module_and_an_example_folder(family) -> None:  # type: ignore[no-untyped-def]
    assert (PACKAGE / "rules" / f"{family.name}.py").is_file()
    assert has_fixer(family), f"flake8_rqjobs/fixers/{family.name}.py is missing"
    assert sorted((EXAMPLES / family.name).glob("*_before.py")), family.name


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_a_rule_declares_its_fix_and_its_triggers(rule, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = explain(rule)
    assert "\n## Fix\n" in page and rule.fix in page and rule.fix_safety.strip() in page
    assert rule.triggers or rule.config_triggers is not None
    for example in rule.invalid:
        # a trigger word missing from a rule would silently switch it off: every INVALID
        # example must pass the prefilters of check (and of the plugin) and of fix
        root = example_project(tmp_path, example.files)
        config = apply_settings(Config(root=root), example.options, "example")
        filename = str(root / example.filename)
        assert needs_check(example.code, filename, config), example.code
        assert might_need_fix(example.code, filename, config), example.code
