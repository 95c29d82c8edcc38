"""Every ``--output-format``, parsed back: SARIF against the vendored official SARIF 2.1.0
schema, GitLab's report against the documented fields, JUnit as XML, GitHub's workflow
commands, JSON and JSON lines; ``full``/``--show-source``/``--statistics``."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List
from xml.etree import ElementTree

import pytest

from .helpers import check, write_project

jsonschema = pytest.importorskip("jsonschema")

SCHEMAS = Path(__file__).resolve().parent / "schemas"
BODY = 'import redis\nfrom rq import Queue\n\nname = "é"; c = redis.Redis()\nq = Queue("x")\n'
# Line 4: "é" is 2 UTF-8 bytes, so flake8's column (bytes) is one more than the character's.
# flake8's E999 column for "def f(:" (Python 3.9 reports syntax errors one column earlier).
E999_COL = 8 if sys.version_info >= (3, 10) else 7
EXPECTED = [
    ("app/m.py", 4, 17, "RQJ001"),
    ("app/m.py", 5, 5, "RQJ002"),
    ("bad.py", 2, E999_COL, "E999"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    write_project(root, {"app/m.py": BODY, "bad.py": "import rq\ndef f(:\n"})
    return root


def run(project: Path, fmt: str, *extra: str) -> str:
    done = check(project, "--output-format", fmt, *extra, "app", "bad.py")
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    return done.stdout


def test_text_and_concise_are_flake8s(project: Path) -> None:
    text = run(project, "text")
    assert text == run(project, "concise")
    assert text.splitlines()[0].startswith("app/m.py:4:18: RQJ001 redis.Redis() builds")
    assert text.splitlines()[2] == f"bad.py:2:{E999_COL}: E999 SyntaxError: invalid syntax"


def test_full_and_show_source(project: Path) -> None:
    full = run(project, "full")
    assert '4 | name = "é"; c = redis.Redis()' in full
    caret = [line for line in full.splitlines() if "^" in line][0]
    # The caret is under "redis.Redis()" (characters, not bytes) and as wide.
    assert caret.endswith("^" * len("redis.Redis()") + " RQJ001")
    assert caret.index("^") == full.splitlines()[2].index("redis.Redis()")
    shown = run(project, "text", "--show-source").splitlines()
    assert shown[1] == 'name = "é"; c = redis.Redis()'
    assert shown[2] == " " * shown[1].index("redis") + "^"


def test_json_and_json_lines(project: Path) -> None:
    records: List[Dict[str, Any]] = json.loads(run(project, "json"))
    lines = [json.loads(line) for line in run(project, "json-lines").splitlines()]
    assert records == lines
    got = [
        (Path(r["filename"]).relative_to(project).as_posix(), r["location"]["row"], r["code"])
        for r in records
    ]
    assert got == [(p, line, code) for p, line, _, code in EXPECTED]
    first = records[0]
    assert first["location"] == {"row": 4, "column": 18}
    assert first["end_location"] == {"row": 4, "column": 31}
    assert first["message"].startswith("redis.Redis() builds a Redis client")
    assert first["url"].endswith("#rqj001")


def test_github_annotations(project: Path) -> None:
    lines = run(project, "github").splitlines()
    pattern = re.compile(
        r"^::error title=flake8-rqjobs \((?P<code>\w+)\),file=(?P<file>[^,]+),line=(?P<line>\d+),"
        r"col=\d+,endLine=\d+,endColumn=\d+::(?P<text>.+)$"
    )
    parsed = [pattern.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["file"], int(m["line"]), m["code"]) for m in parsed if m] == [
        (p, line, code) for p, line, _, code in EXPECTED
    ]
    assert parsed[0] and parsed[0]["text"].startswith("app/m.py:4:18: RQJ001 ")


def test_gitlab_code_quality(project: Path) -> None:
    report = json.loads(run(project, "gitlab"))
    schema = json.loads((SCHEMAS / "gitlab-code-quality.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    assert [
        (r["location"]["path"], r["location"]["lines"]["begin"], r["check_name"]) for r in report
    ] == [(p, line, code) for p, line, _, code in EXPECTED]
    assert len({r["fingerprint"] for r in report}) == len(report)


def test_sarif_is_valid_against_the_official_schema(project: Path) -> None:
    log = json.loads(run(project, "sarif"))
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)
    assert log["version"] == "2.1.0"
    sarif_run = log["runs"][0]
    rules = sarif_run["tool"]["driver"]["rules"]
    from flake8_rqjobs.rules import ALL_RULES

    assert [r["id"] for r in rules][: len(ALL_RULES)] == [rule.code for rule in ALL_RULES]
    for rule in rules[: len(ALL_RULES)]:
        assert rule["help"]["text"].startswith(f"# {rule['id']}: ")
        assert rule["helpUri"].startswith("https://")
        assert rule["shortDescription"]["text"]
    results = sarif_run["results"]
    got = []
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        got.append(
            (
                location["artifactLocation"]["uri"],
                location["region"]["startLine"],
                location["region"]["startColumn"],
                result["ruleId"],
            )
        )
    assert got == EXPECTED
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region["endColumn"] - region["startColumn"] == len("redis.Redis()")


def test_sarif_without_findings_is_valid(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": "x = 1\n"})
    done = check(tmp_path, "--output-format", "sarif", ".")
    assert done.returncode == 0
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(json.loads(done.stdout))


def test_junit(project: Path) -> None:
    root = ElementTree.fromstring(run(project, "junit"))
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    failures = [
        (c.get("file"), int(c.get("line") or 0), c.find("failure").get("type")) for c in cases
    ]  # type: ignore[union-attr]
    assert failures == [(p, line, code) for p, line, _, code in EXPECTED]
    assert root.get("failures") == "3"


def test_pylint(project: Path) -> None:
    lines = run(project, "pylint").splitlines()
    assert lines[0].startswith("app/m.py:4: [RQJ001] redis.Redis() builds")
    assert lines[2] == "bad.py:2: [E999] SyntaxError: invalid syntax"


def test_output_format_from_pyproject_and_output_file(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": BODY}, pyproject={"output-format": "json-lines"})
    done = check(tmp_path, ".")
    assert [json.loads(line)["code"] for line in done.stdout.splitlines()] == ["RQJ001", "RQJ002"]
    done = check(tmp_path, "--output-format", "sarif", "-o", "report.sarif", ".")
    assert done.returncode == 1 and done.stdout == ""
    assert json.loads((tmp_path / "report.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_statistics_count_codes_and_excluded_files(tmp_path: Path) -> None:
    files = {"app/a.py": BODY, "app/b.py": BODY, "legacy/x.py": BODY, "legacy/y.py": BODY}
    write_project(tmp_path, files, flake8_cfg={"extend-exclude": "legacy"})
    done = check(tmp_path, "--statistics", ".")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["2", "RQJ001"]
    assert lines[1].split("\t")[:2] == ["2", "RQJ002"]
    assert any(
        line.startswith("2 files excluded by config") and ".flake8" in line for line in lines
    )
    stats = json.loads(check(tmp_path, "--statistics", "--output-format", "json", ".").stdout)
    assert stats["statistics"][0] == {
        "code": "RQJ001",
        "count": 2,
        "summary": "Redis client or connection pool built outside the wrapper",
    }
    assert list(stats["files"]["excluded_by_config"].values()) == [2]
    verbose = check(tmp_path, "-v", ".")
    assert "2 files excluded by config" in verbose.stderr


def test_quiet_levels(tmp_path: Path) -> None:
    write_project(tmp_path, {"a.py": BODY})
    assert check(tmp_path, "-q", ".").stdout.count("\n") == 2
    silent = check(tmp_path, "-qq", ".")
    assert (silent.returncode, silent.stdout, silent.stderr) == (1, "", "")
