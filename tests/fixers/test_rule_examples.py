"""Every INVALID example of every rule is also a fix test (Fixit's ``expected_replacement``).

Each example runs through ``fix`` as ``flake8-rqjobs fix`` would run it on that file: the
result is exactly ``expected_replacement`` (or the file stays as it is), every site of the
rule that is left to a human gets the specific reason given next to the example (``manual``),
no site anywhere gets the fixer's generic answer, and a second run changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest

from flake8_rqjobs.config import Config, apply_settings
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.fixers.engine import UNANSWERED_REASON, TextFix, fix_source
from flake8_rqjobs.fixers.report import Options
from flake8_rqjobs.rules import ALL_RULES, Example, Rule

CASES: List[Tuple[str, Rule, Example]] = [
    (f"{rule.code}-invalid-{n}", rule, example)
    for rule in ALL_RULES
    for n, example in enumerate(rule.invalid)
]


def _fix(example: Example, text: str, root: Path) -> TextFix:
    for name, other in example.files.items():  # the project's other modules (their facts)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(other, encoding="utf-8")
    config = apply_settings(Config(root=root), example.options, "the example's options")
    return fix_source(text, str(root / example.filename), config, Options(select=ALL_CODES))


@pytest.mark.parametrize(("rule", "example"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_invalid_example_is_fixed_or_gets_its_reason(
    rule: Rule, example: Example, tmp_path: Path
) -> None:
    result = _fix(example, example.code, tmp_path)
    assert result.skipped is None, result.skipped
    assert result.new == example.expected_replacement, example.code
    mine = [m for m in result.manual if m.code == rule.code]
    if example.manual is None:
        assert mine == [], f"{example.code}\n{mine}"
    else:
        assert mine, f"every {rule.code} site of this example was fixed: drop manual="
        assert all(example.manual in m.text for m in mine), f"{example.code}\n{mine}"
    generic = [m for m in result.manual if m.reason == UNANSWERED_REASON]
    assert generic == [], f"a site got the generic answer:\n{example.code}\n{generic}"


@pytest.mark.parametrize(
    "example", [pytest.param(e, id=i) for i, _, e in CASES if e.expected_replacement is not None]
)
def test_fixed_example_is_final(example: Example, tmp_path: Path) -> None:
    assert example.expected_replacement is not None
    again = _fix(example, example.expected_replacement, tmp_path)
    assert again.new is None and not again.fixes


def test_every_rule_has_a_fixed_or_a_declined_example() -> None:
    for rule in ALL_RULES:
        assert any(e.expected_replacement or e.manual for e in rule.invalid), rule.code
