"""The committed app/ is the tool's output plus the listed manual fixes, and nothing else.

``examples/prosaas/regenerate.py`` runs ``flake8-rqjobs fix`` on a copy of legacy/ (then sorts
the imports it added); every file of app/ must equal that output except ``HUMAN_FILES``,
which must differ (each one needed a human). The fixer's summary is checked too: what it fixed
and the manual fixes it reported are what the README's walk-through shows.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from prosaas_support import BIN, EXAMPLE

SCRIPT = EXAMPLE / "regenerate.py"


def load_regenerate():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("prosaas_regenerate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_app_matches_the_regenerated_tree(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    regenerate = load_regenerate()
    mechanical = sorted(regenerate.python_files(tmp_path / "app" / "prosaas"))
    assert len(mechanical) - len(set(mechanical) & set(regenerate.HUMAN_FILES)) == 9
    assert "9 files identical to the tool's output, 10 human files" in result.stdout

    summary = result.stdout.splitlines()
    assert (
        "flake8-rqjobs fix: 8 files changed, 17 fixes (RQJ001 6, RQJ002 3, RQJ003 4, "
        "RQJ100 2, RQJ200 1, RQJ201 1), 13 manual fixes left"
    ) in summary
    manual = sorted(
        (line.split(":")[0].removeprefix("app/prosaas/"), line.split(" ")[1])
        for line in summary
        if " manual fix: " in line
    )
    assert manual == sorted(
        [
            ("routes/leads.py", "RQJ002"),
            ("routes/leads.py", "RQJ003"),
            ("routes/webhooks.py", "RQJ300"),
            ("routes/webhooks.py", "RQJ300"),
            ("routes/webhooks.py", "RQJ301"),
            ("services/notifications.py", "RQJ300"),
            ("services/recordings.py", "RQJ001"),
            ("services/recordings.py", "RQJ002"),
            ("services/recordings.py", "RQJ003"),
            ("services/recordings.py", "RQJ300"),
            ("services/recordings.py", "RQJ301"),
            ("services/reminder_scheduler.py", "RQJ002"),
            ("services/reminder_scheduler.py", "RQJ003"),
        ]
    )
    # Every file with a manual fix left is a human file of app/.
    assert {name for name, _ in manual} <= set(regenerate.HUMAN_FILES)

    # One pass is final: fixing the tool's own output again changes nothing.
    again = subprocess.run(
        [str(BIN / "flake8-rqjobs"), "fix", "--check", "--deprecate-definitions", "app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == (
        "flake8-rqjobs fix: 0 files would change, 13 manual fixes left"
    )


def test_compare_catches_drift(tmp_path: Path) -> None:
    regenerate = load_regenerate()
    generated, committed = tmp_path / "generated", tmp_path / "committed"
    for tree in (generated, committed):
        (tree / "routes").mkdir(parents=True)
        (tree / "tasks.py").write_text("x = 1\n")
        (tree / "routes" / "webhooks.py").write_text("tool = 1\n")
    (committed / "routes" / "webhooks.py").write_text("human = 1\n")
    (committed / "schedule.py").write_text("new = 1\n")
    problems = regenerate.compare(generated, committed)
    # The other human files are missing from this toy tree: reported, nothing else.
    assert all("listed in HUMAN_FILES but missing" in problem for problem in problems)

    (committed / "tasks.py").write_text("x = 2\n")  # a hand edit of a mechanical file
    (committed / "extra.py").write_text("")  # a file nobody declared
    (committed / "routes" / "webhooks.py").write_text("tool = 1\n")  # a "human" file unchanged
    problems = regenerate.compare(generated, committed)
    assert "tasks.py: differs from the tool's output (run regenerate.py --update)" in problems
    assert "extra.py: only in app/ and not listed in HUMAN_FILES" in problems
    assert "routes/webhooks.py: equals the tool's output; remove it from HUMAN_FILES" in problems


def test_fixing_the_migrated_app_again_changes_nothing() -> None:
    result = subprocess.run(
        [str(BIN / "flake8-rqjobs"), "fix", "--check", "--deprecate-definitions", "app"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "flake8-rqjobs fix: 0 files would change, 0 manual fixes left"
