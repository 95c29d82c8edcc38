"""Shared helpers for the fixer tests: run an example file through the fix engine."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.fixers.engine import fix_source
from flake8_rqjobs.fixers.report import ManualFix, Options

EXAMPLES = Path(__file__).parent / "examples"
# "# manual: RQJ001 RQJ002" at the end of a line: the fixer must leave that line to a human.
MANUAL_MARK = re.compile(r"#\s*manual:\s*(?P<codes>(?:RQJ\d+\s*)+)$")


def before_files() -> List[Path]:
    return sorted(EXAMPLES.glob("*/*_before.py"))


def after_file(before: Path) -> Path:
    return before.with_name(before.name.replace("_before.py", "_after.py"))


def example_id(before: Path) -> str:
    return f"{before.parent.name}/{before.name[: -len('_before.py')]}"


def options_for(text: str) -> Tuple[Options, Dict[str, str]]:
    """Options from a ``# fix-options: ...`` first line (same flags as the command)."""
    first = text.splitlines()[0] if text else ""
    select = ALL_CODES
    deprecate = False
    default_url: Optional[str] = None
    overrides: Dict[str, str] = {}
    if first.startswith("# fix-options:"):
        args = shlex.split(first.split(":", 1)[1])
        for index, arg in enumerate(args):
            if arg == "--deprecate-definitions":
                deprecate = True
            elif arg == "--wrapper-module":
                overrides["wrapper_module"] = args[index + 1]
            elif arg == "--select":
                select = tuple(args[index + 1].split(","))
            elif arg == "--wrapper-default-url":
                default_url = args[index + 1]
    options = Options(select, deprecate_definitions=deprecate, wrapper_default_url=default_url)
    return options, overrides


def run_example(
    text: str, relative: str, root: Path
) -> Tuple[Optional[str], Dict[str, int], List[ManualFix], Optional[str]]:
    """Fix ``text`` as if it were ``root/relative`` (the path decides scheduler code)."""
    options, overrides = options_for(text)
    config = replace(Config(root=root), **overrides)  # type: ignore[arg-type]
    result = fix_source(text, str(root / relative), config, options)
    return result.new, result.fixes, result.manual, result.skipped


def manual_marks(text: str) -> Set[Tuple[str, int]]:
    marks = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = MANUAL_MARK.search(line)
        if match:
            for code in match.group("codes").split():
                marks.add((code, number))
    return marks


def config_for(text: str, root: Path) -> Config:
    _, overrides = options_for(text)
    return replace(Config(root=root), **overrides)  # type: ignore[arg-type]
