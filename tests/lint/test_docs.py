"""Rule documentation (ruff's format), messages, ``rules``/``explain``, the README table."""

from __future__ import annotations

import re

import pytest

from flake8_rqjobs.cli import main as cli_main
from flake8_rqjobs.commands.docs import rule_table
from flake8_rqjobs.rules import ALL_RULES, RULES

from .helpers import REPO

SECTIONS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead"]


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_rule_doc_and_message(rule) -> None:  # type: ignore[no-untyped-def]
    assert re.fullmatch(r"[A-Z]{1,3}[0-9]{0,3}", rule.code)
    positions = [rule.doc.find(section) for section in SECTIONS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), rule.code
    assert rule.doc.count("```python") >= 2
    message = rule.format(wrapper="rqjobs", **rule.sample)
    assert message.startswith(rule.code + " ")
    assert "\n" not in message
    assert "instead" in message.lower() or "at most" in message.lower()


def test_codes_are_unique_and_sorted() -> None:
    codes = [rule.code for rule in ALL_RULES]
    assert codes == sorted(set(codes))
    assert set(RULES) == set(codes)


def test_rules_and_explain(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli_main(["rules"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == list(RULES)
    assert cli_main(["explain", "rqj001"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# RQJ001: ") and "## Why is this bad?" in out
    assert cli_main(["explain", "RQJ999"]) == 2
    err = capsys.readouterr().err
    assert "unknown rule 'RQJ999'" in err and "RQJ001" in err
    assert cli_main(["explain"]) == 2


def test_readme_rule_table_is_current() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert rule_table() in readme
