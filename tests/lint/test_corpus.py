"""The realistic corpus in tests/corpus: ``check`` reports exactly what flake8 reports, and
both report exactly the expected findings (aliases flagged, look-alikes not)."""

from __future__ import annotations

import pytest

from .helpers import CORPUS, Finding, check, flake8

P = "./app/"
EXPECTED = sorted(
    Finding(P + path, line, col, code)
    for path, line, col, code in [
        ("__init__.py", 11, 5, "RQJ100"),
        ("__init__.py", 12, 5, "RQJ100"),
        ("__init__.py", 13, 29, "RQJ100"),
        ("bg.py", 11, 9, "RQJ201"),
        ("bg.py", 16, 9, "RQJ201"),
        ("legacy_conn.py", 15, 8, "RQJ001"),
        ("legacy_conn.py", 16, 9, "RQJ001"),
        ("legacy_conn.py", 17, 10, "RQJ001"),
        ("legacy_conn.py", 18, 8, "RQJ001"),
        ("legacy_conn.py", 19, 12, "RQJ001"),
        ("legacy_conn.py", 20, 12, "RQJ001"),
        ("legacy_conn.py", 26, 12, "RQJ001"),
        ("legacy_conn.py", 43, 19, "RQJ001"),
        ("reports.py", 11, 11, "RQJ002"),
        ("reports.py", 12, 10, "RQJ002"),
        ("reports.py", 13, 1, "RQJ002"),
        ("reports.py", 13, 1, "RQJ003"),
        ("reports.py", 19, 14, "RQJ002"),
        ("reports.py", 21, 9, "RQJ002"),
        ("reports.py", 34, 5, "RQJ003"),
        ("tasks.py", 24, 8, "RQJ002"),
        ("webhooks.py", 18, 5, "RQJ300"),
        ("webhooks.py", 34, 5, "RQJ301"),
        ("webhooks.py", 35, 5, "RQJ300"),
        ("webhooks.py", 35, 5, "RQJ301"),
        ("webhooks.py", 51, 5, "RQJ003"),
        ("webhooks.py", 51, 5, "RQJ300"),
        ("webhooks.py", 52, 5, "RQJ301"),
        ("webhooks.py", 53, 5, "RQJ301"),
        ("webhooks.py", 54, 5, "RQJ300"),  # sync_contact: @event_job in app/tasks.py
        ("scheduler/runner.py", 26, 17, "RQJ200"),
        ("scheduler/runner.py", 29, 13, "RQJ200"),
        ("scheduler/runner.py", 30, 9, "RQJ201"),
        ("scheduler/runner.py", 36, 9, "RQJ201"),
    ]
)


@pytest.fixture(scope="module")
def runs():  # type: ignore[no-untyped-def]
    """Both tools in the corpus's own project (its pyproject.toml sets the defaults
    explicitly), ignoring any flake8 config file of the surrounding repository."""
    return flake8(CORPUS, "--isolated", "."), check(CORPUS, "--isolated", ".")


@pytest.mark.smoke
def test_check_reports_exactly_what_flake8_reports(runs) -> None:  # type: ignore[no-untyped-def]
    via_flake8, via_check = runs
    rqj = [line for line in via_check.stdout.splitlines() if ": E999 " not in line]
    assert sorted(rqj) == sorted(via_flake8.stdout.splitlines())
    assert via_check.returncode == via_flake8.returncode == 1


def test_corpus_findings_are_the_expected_ones(runs) -> None:  # type: ignore[no-untyped-def]
    _, via_check = runs
    assert [f for f in via_check.findings if f.code.startswith("RQJ")] == EXPECTED


def test_unparseable_corpus_file_is_an_e999(runs) -> None:  # type: ignore[no-untyped-def]
    _, via_check = runs
    lines = [line for line in via_check.stdout.splitlines() if ": E999 " in line]
    assert len(lines) == 1
    assert lines[0].startswith("./app/broken.py:3:")
