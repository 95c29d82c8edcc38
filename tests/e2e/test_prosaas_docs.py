"""The README's "Migrating a legacy codebase" section shows the tools' real output.

Each console excerpt there is checked against a fresh run, so the walk-through cannot drift
from what the linter and the fixer print on examples/prosaas.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from prosaas_support import BIN, EXAMPLE, REPO

SECTION = re.compile(
    r"<!-- section: migrating -->\n(.*?)<!-- end section: migrating -->", re.DOTALL
)


def migrating_section() -> str:
    match = SECTION.search((REPO / "README.md").read_text())
    assert match, "README.md has no migrating section"
    return match.group(1)


def console_lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_lint_lines_in_the_readme_are_real_findings() -> None:
    result = subprocess.run(
        [str(BIN / "flake8"), "--select", "RQJ", "legacy"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    real = set(result.stdout.splitlines())
    shown = console_lines(migrating_section(), "legacy/prosaas/")
    assert len(shown) >= 8
    assert set(shown) <= real
    assert f"({len(real)} findings in 9 files;" in migrating_section()


def test_fixer_output_in_the_readme_is_real(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "regenerate.py"), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    section = migrating_section()
    # Step 3 (`fix`): its summary, and the regenerate check.
    summary = next(line for line in result.stdout.splitlines() if " fixes (" in line)
    assert summary.startswith("flake8-rqjobs fix: 8 files changed")
    assert summary in section
    assert "9 files identical to the tool's output, 10 human files" in section

    # Step 2 (`fix --diff` on a fresh copy of legacy/): every report line, verbatim.
    fresh = tmp_path / "fresh"
    (fresh / "app").parent.mkdir()
    shutil.copytree(EXAMPLE / "legacy", fresh / "app")
    shutil.copy2(EXAMPLE / "pyproject.toml", fresh / "pyproject.toml")
    diff = subprocess.run(
        [str(BIN / "flake8-rqjobs"), "fix", "--diff", "--deprecate-definitions", "app"],
        cwd=fresh,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert diff.returncode == 1
    reports = [
        line
        for line in diff.stderr.splitlines()  # the diff is on stdout, the report on stderr
        if line.startswith("flake8-rqjobs fix:")
        or (line.startswith("app/prosaas/") and ("would fix" in line or "manual fix:" in line))
    ]
    assert len(reports) == 8 + 13 + 1
    for line in reports:
        assert line in section, line

    # What the linter still reports after the fix (step 3's last command).
    after = subprocess.run(
        [str(BIN / "flake8"), "--select", "RQJ", "--format", "%(path)s:%(row)d: %(code)s", "app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    left = after.stdout.splitlines()
    assert len(left) == 13
    block = section[section.index("--format '%(path)s:%(row)d: %(code)s' app") :]
    assert block.split("```", 1)[0].strip().splitlines()[1:] == left
