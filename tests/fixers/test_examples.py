"""Every fixer's BEFORE/AFTER examples (tests/fixers/examples/<fixer>/<case>_before.py).

For each example: the fix gives exactly ``<case>_after.py`` (or leaves the file unchanged when
there is none), a second run changes nothing, libcst prints both files back exactly, the lines
marked ``# manual: RQJxxx`` are exactly the manual fixes reported, and the linter reports
nothing on the fixed file except on those marked lines.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from flake8_rqjobs.checker import check_source
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.rules import FAMILIES
from flake8_rqjobs.rules.base import FixAvailability

from .helpers import (
    after_file,
    before_files,
    config_for,
    example_id,
    manual_marks,
    run_example,
)

BEFORE = before_files()


def _relative(before: Path) -> str:
    return f"{before.parent.name}/{before.name}"


def _expected(before: Path) -> str:
    after = after_file(before)
    return after.read_text() if after.exists() else before.read_text()


@pytest.mark.parametrize("before", BEFORE, ids=[example_id(b) for b in BEFORE])
def test_example_fixes_to_after(before: Path, tmp_path: Path) -> None:
    text = before.read_text()
    new, fixes, manual, skipped = run_example(text, _relative(before), tmp_path)
    assert skipped is None
    assert (new if new is not None else text) == _expected(before)
    assert bool(fixes) == (new is not None)
    assert {(m.code, m.line) for m in manual} == manual_marks(text)
    assert all(m.reason for m in manual)


@pytest.mark.parametrize("before", BEFORE, ids=[example_id(b) for b in BEFORE])
def test_example_is_idempotent(before: Path, tmp_path: Path) -> None:
    expected = _expected(before)
    new, fixes, manual, _ = run_example(expected, _relative(before), tmp_path)
    assert new is None and not fixes
    assert {(m.code, m.line) for m in manual} == manual_marks(expected)


@pytest.mark.parametrize("before", BEFORE, ids=[example_id(b) for b in BEFORE])
def test_example_round_trips_exactly(before: Path) -> None:
    for text in (before.read_text(), _expected(before)):
        assert cst.parse_module(text).code == text


@pytest.mark.parametrize("before", BEFORE, ids=[example_id(b) for b in BEFORE])
def test_fixed_example_lints_clean_except_manual_lines(before: Path, tmp_path: Path) -> None:
    expected = _expected(before)
    config = config_for(expected, tmp_path)
    remaining = {
        (v.code, v.line)
        for v in check_source(expected, str(tmp_path / _relative(before)), config)
        if v.code in ALL_CODES
    }
    assert remaining == manual_marks(expected)


def test_every_fixer_has_examples() -> None:
    fixers = {b.parent.name for b in BEFORE}
    assert fixers == {family.name for family in FAMILIES}  # one example folder per family
    changed = {b.parent.name for b in BEFORE if after_file(b).exists()}
    report_only = {  # RQJ300/RQJ301, RQJ400: never rewritten
        f.name
        for f in FAMILIES
        if all(r.fix_availability is FixAvailability.NEVER for r in f.rules)
    }
    assert changed == fixers - report_only


@pytest.mark.smoke
def test_local_queue_example_smoke(tmp_path: Path) -> None:
    before = next(b for b in BEFORE if example_id(b) == "queues/local_queue")
    new, fixes, _, _ = run_example(before.read_text(), _relative(before), tmp_path)
    assert new is not None and 'enqueue("emails", send_email, user_id, job_timeout=30)' in new
    assert fixes == {"RQJ001": 1, "RQJ002": 1, "RQJ003": 1}
