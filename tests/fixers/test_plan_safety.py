"""The plan applier on real code: statements removed, ``try`` blocks unwrapped and calls
rewritten all over standard-library modules still give code that parses, and every comment
of the original is still there (moved, never dropped)."""

from __future__ import annotations

import ast
import io
import sysconfig
import tokenize
from collections import Counter
from pathlib import Path
from typing import List

import libcst as cst
import pytest

from flake8_rqjobs.fixers.plan import Plan, apply
from flake8_rqjobs.fixers.positions import node_positions

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _sample() -> List[Path]:
    files = sorted(
        p
        for p in STDLIB.rglob("*.py")
        if "site-packages" not in p.parts and 2_000 < p.stat().st_size < 30_000
    )
    # Only modules with functions: a data-only module (a dict literal) gives an empty plan.
    return [p for p in files[::40] if "def " in p.read_text(encoding="utf-8", errors="replace")]


def _comments(text: str) -> Counter:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return Counter(t.string for t in tokens if t.type == tokenize.COMMENT)


def _stress_plan(module: cst.Module) -> Plan:
    plan = Plan()
    calls: List[cst.Call] = []

    class Pick(cst.CSTVisitor):
        count = 0

        def visit_Call(self, node: cst.Call) -> None:
            calls.append(node)

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            for statement in node.body:
                if isinstance(statement, cst.SimpleStatementLine):
                    self.count += 1
                    if self.count % 3 == 0:
                        plan.remove.add(id(statement))

        def visit_Try(self, node: cst.Try) -> None:
            if node.finalbody is not None and not node.handlers and node.orelse is None:
                plan.unwrap.add(id(node))
                body = node.finalbody.body
                if isinstance(body, cst.IndentedBlock):
                    plan.remove.update(id(s) for s in body.body)

    module.visit(Pick())
    for index, call in enumerate(calls):
        if index % 2 == 0:
            plan.replace[id(call)] = lambda node: cst.Name("rewritten")
    return plan


@pytest.mark.parametrize("path", _sample(), ids=lambda p: str(p.relative_to(STDLIB)))
def test_plans_keep_code_valid_and_comments(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    module = cst.parse_module(text)
    plan = _stress_plan(module)
    assert plan
    new = apply(module, plan, node_positions(module).parents).code
    ast.parse(new)
    assert _comments(new) == _comments(text)
    assert new != text
