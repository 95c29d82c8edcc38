"""Nothing the linter reports is lost by ``fix``: every finding is either fixed or listed.

On each sample project, per code: the sites ``fix`` rewrote plus the manual fixes it lists
equal the linter's findings before fixing, and each manual fix is at a line the linter
flags with that code. RQJ300/RQJ301 are never rewritten, so they all come back as manual
fixes with the rule's advice.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Set, Tuple

import pytest

from flake8_rqjobs.commands.check import check_file
from flake8_rqjobs.commands.fix import iter_python_files, run
from flake8_rqjobs.config import load_config
from flake8_rqjobs.fixers import ALL_CODES, REPORT_ONLY
from flake8_rqjobs.fixers.report import Options
from flake8_rqjobs.rules import RULES

REPO = Path(__file__).resolve().parents[2]
SAMPLES = {
    "prosaas-legacy": (REPO / "examples" / "prosaas", "legacy"),
    "sample-project": (Path(__file__).parent / "sample_project", "legacyapp"),
}


def test_every_linter_code_has_a_fixer_or_is_reported() -> None:
    assert set(RULES) <= set(ALL_CODES)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_fixed_plus_manual_equals_linter_findings(sample: str) -> None:
    root, subdir = SAMPLES[sample]
    config = load_config(root)
    paths = list(iter_python_files([str(root / subdir)]))
    findings: Set[Tuple[str, str, int]] = set()
    for path in paths:
        violations, error = check_file(path, config)
        assert error is None
        findings |= {(path, v.code, v.line) for v in violations}
    assert findings, "the sample must have findings"

    results = run(paths, config, Options(select=ALL_CODES), write=False, jobs=1)
    assert not [r for r in results if r.error or r.skipped]
    fixed: Counter[str] = Counter()
    manual: Set[Tuple[str, str, int]] = set()
    for result in results:
        fixed.update(result.fixes)
        for item in result.manual:
            assert (result.path, item.code, item.line) in findings, item
            manual.add((result.path, item.code, item.line))
            if item.code in REPORT_ONLY:
                assert "dedupe_key" in item.reason or "dedupe key" in item.reason, item
    expected = Counter(code for _, code, _ in findings)
    reported = fixed + Counter(code for _, code, _ in manual)
    assert reported == expected
    assert {code for _, code, _ in manual} >= {
        code for _, code, _ in findings if code in REPORT_ONLY
    }
