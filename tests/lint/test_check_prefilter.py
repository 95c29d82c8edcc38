"""The check command's strict prefilter never rejects a file that has a finding: the rule
examples, the lint corpus and the standard library files that pass the plugin's prefilter
are checked in full, and each file the strict prefilter rejects must have none."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path
from typing import List, Tuple

import pytest

from flake8_rqjobs.checker import check_tree, needs_check
from flake8_rqjobs.config import Config, apply_settings
from flake8_rqjobs.prefilter import imported, needs_parse, scheduler_function, strict_available
from flake8_rqjobs.rules import ALL_RULES

from .helpers import CORPUS, example_project
from .test_stdlib import STDLIB, stdlib_files


def findings(text: str, path: str, config: Config) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return []
    return check_tree(tree, path, config)


def test_the_strict_filter_is_active_for_the_current_rules() -> None:
    assert strict_available()


def test_rule_examples(tmp_path: Path) -> None:
    checked = 0
    for rule in ALL_RULES:
        for example in (*rule.valid, *rule.invalid):
            root = example_project(tmp_path, example.files)
            config = apply_settings(Config(root=root), example.options, "example")
            path = str(root / example.filename)
            if not needs_parse(example.code, path, config):
                assert findings(example.code, path, config) == [], (rule.code, example.code)
            checked += 1
        for example in rule.invalid:
            root = example_project(tmp_path, example.files)
            config = apply_settings(Config(root=root), example.options, "example")
            assert needs_parse(example.code, str(root / example.filename), config), example.code
    assert checked > 40


def _candidates(root: Path, files: List[Path]) -> List[Tuple[str, str]]:
    config = Config(root=root)
    found = []
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        if needs_check(text, str(path), config):
            found.append((str(path), text))
    return found


@pytest.mark.parametrize("where", ["corpus", "stdlib"])
def test_rejected_files_have_no_findings(where: str) -> None:
    root = CORPUS if where == "corpus" else STDLIB
    files = sorted(CORPUS.rglob("*.py")) if where == "corpus" else stdlib_files()
    config = Config(root=root)
    rejected = kept = 0
    for path, text in _candidates(root, files):
        if needs_parse(text, path, config):
            kept += 1
        else:
            rejected += 1
            assert findings(text, path, config) == [], path
    assert kept
    if where == "stdlib":
        assert rejected > kept  # stricter than the plugin's prefilter


def test_import_lines() -> None:
    assert imported("import os, redis\n", "redis", "a.py")
    assert imported("from redis.client import Redis\n", "redis", "a.py")
    assert imported("try: import redis as r\nexcept ImportError: pass\n", "redis", "a.py")
    assert imported("import os, \\\n    redis\n", "redis", "a.py")  # continuation: any word
    assert imported("from . import (\n    redis,\n)\n", "redis", "a.py")  # relative: any word
    assert imported("from .client import Redis\n", "redis", "redis/x.py")  # inside redis/
    assert not imported('URL = "redis://localhost"\nimport os\n', "redis", "a.py")
    assert not imported("import django_redis\nimport aioredis\n", "redis", "a.py")
    assert not imported("x = redis.Redis()\n", "redis", "a.py")  # no import: never resolves


def test_scheduler_functions() -> None:
    assert scheduler_function("def run_scheduler():\n")
    assert scheduler_function("async def SchedulerLoop():\n")
    assert scheduler_function("def \\\n  tick_scheduler(): pass\n")
    assert not scheduler_function("from apscheduler import x\nscheduler.start()\n")
