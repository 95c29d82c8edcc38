"""Every VALID and INVALID example of every rule, through real flake8.

Examples are grouped by their options: one project per group, one flake8 run per group, in
two flavours: the options as ``[tool.rqjobs]`` in pyproject.toml, and the same options as
``--rqjobs-*`` flake8 command-line options (with an empty pyproject).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from flake8_rqjobs.rules import ALL_RULES, Example, Rule

from .helpers import Finding, cli_options, flake8, write_project

CASES: List[Tuple[str, Rule, bool, int, Example]] = []
for _rule in ALL_RULES:
    for _n, _ex in enumerate(_rule.valid):
        CASES.append((f"{_rule.code}-valid-{_n}", _rule, True, _n, _ex))
    for _n, _ex in enumerate(_rule.invalid):
        CASES.append((f"{_rule.code}-invalid-{_n}", _rule, False, _n, _ex))


def _lint_all(base: Path, flavour: str) -> Dict[str, List[Finding]]:
    """Examples with default options share one project (each in its own top directory);
    an example with options gets a project of its own, its file at its exact path (path
    globs are relative to the project root)."""
    groups: Dict[str, List[Tuple[str, Example]]] = {}
    for case_id, _, _, _, example in CASES:
        if flavour == "options" and not example.options:
            continue
        own = example.options or example.files  # a project of its own
        groups.setdefault(case_id if own else "", []).append((case_id, example))

    def lint(number: int, members: List[Tuple[str, Example]]) -> List[Tuple[str, Finding]]:
        shared = len(members) > 1 or not (members[0][1].options or members[0][1].files)
        options = dict(members[0][1].options)
        root = base / f"{flavour}-{number}"
        files = {(f"{cid}/" if shared else "") + ex.filename: ex.code for cid, ex in members}
        if not shared:
            files = {**members[0][1].files, **files}
        if flavour == "pyproject":
            write_project(root, files, pyproject=options)
            run = flake8(root, ".")
        else:
            write_project(root, files)
            run = flake8(root, *cli_options(options), ".")
        assert run.returncode in (0, 1), run.stderr
        assert "Traceback" not in run.stderr, run.stderr
        if shared:
            return [(f.path[2:].split("/", 1)[0], f) for f in run.findings]
        return [(members[0][0], f) for f in run.findings]

    results: Dict[str, List[Finding]] = {case_id: [] for case_id, *_ in CASES}
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [pool.submit(lint, n, m) for n, (_, m) in enumerate(sorted(groups.items()))]
        for job in jobs:
            for case_id, finding in job.result():
                results[case_id].append(finding)
    return results


@pytest.fixture(scope="module")
def via_pyproject(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Finding]]:
    return _lint_all(tmp_path_factory.mktemp("examples"), "pyproject")


@pytest.fixture(scope="module")
def via_options(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Finding]]:
    return _lint_all(tmp_path_factory.mktemp("examples"), "options")


def _assert_expected(rule: Rule, valid: bool, example: Example, found: List[Finding]) -> None:
    codes = sorted({f.code for f in found})
    if valid:
        assert found == [], f"VALID example flagged:\n{example.code}\n{found}"
        return
    assert set(codes) == {rule.code, *example.also}, f"{example.code}\n{found}"
    lines = sorted({f.line for f in found if f.code == rule.code})
    if example.lines:
        assert lines == sorted(example.lines), f"{example.code}\n{found}"


@pytest.mark.parametrize(
    ("rule", "valid", "example"),
    [pytest.param(rule, valid, ex, id=cid) for cid, rule, valid, _, ex in CASES],
)
def test_example_with_pyproject(
    via_pyproject: Dict[str, List[Finding]], rule: Rule, valid: bool, example: Example
) -> None:
    case_id = next(cid for cid, r, v, _, ex in CASES if ex is example and r is rule)
    _assert_expected(rule, valid, example, via_pyproject[case_id])


@pytest.mark.parametrize(
    ("rule", "valid", "example"),
    [pytest.param(rule, valid, ex, id=cid) for cid, rule, valid, _, ex in CASES if ex.options],
)
def test_example_with_flake8_options(
    via_options: Dict[str, List[Finding]], rule: Rule, valid: bool, example: Example
) -> None:
    case_id = next(cid for cid, r, v, _, ex in CASES if ex is example and r is rule)
    _assert_expected(rule, valid, example, via_options[case_id])


def test_every_rule_has_examples() -> None:
    for rule in ALL_RULES:
        assert len(rule.valid) >= 3, rule.code
        assert len(rule.invalid) >= 3, rule.code
