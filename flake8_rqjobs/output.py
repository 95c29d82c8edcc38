"""Output formats of ``flake8-rqjobs check`` (``--output-format``).

- ``text`` (default), ``concise``: flake8's ``path:line:col: CODE message``;
- ``full``: the same with the source line and a caret line under it (ruff's ``full``);
- ``json`` (one array) and ``json-lines`` (one object per line), ruff's fields;
- ``github``: GitHub Actions workflow commands (``::error file=...::...``);
- ``gitlab``: a GitLab code quality report (a JSON array);
- ``sarif``: SARIF 2.1.0, with every rule (help text and help URI) and a region per result;
- ``junit``: JUnit XML, one test suite per file and one failing test case per finding;
- ``pylint``: ``path:line: [CODE] message``.

Columns: 1-based. ``text``/``json`` count UTF-8 bytes as flake8 does; SARIF, GitLab and the
caret of ``full`` count characters (SARIF's ``columnKind`` is ``unicodeCodePoints``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, TextIO

from flake8_rqjobs import __version__

TOOL = "flake8-rqjobs"
INFORMATION_URI = "https://github.com/your-org/flake8-rqjobs"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ERROR_SUMMARIES = {
    "E902": "path cannot be read (missing, unreadable)",
    "E999": "file does not parse",
}


def help_uri(code: str) -> str:
    """Where a rule's documentation lives (``flake8-rqjobs explain CODE`` prints it too)."""
    return f"{INFORMATION_URI}#{code.lower()}"


@dataclass(frozen=True)
class Diagnostic:
    """One reported finding or error. ``col``/``end_col`` are 1-based UTF-8 byte columns."""

    path: str  # as the user named it (flake8's spelling: ``./a.py`` under ``.``)
    line: int
    col: int
    end_line: int
    end_col: int
    code: str
    message: str  # without the code
    source: Optional[str] = None  # the text of ``line`` (no newline), when known

    @property
    def text(self) -> str:
        return f"{self.code} {self.message}"

    @property
    def is_error(self) -> bool:
        return self.code in ERROR_SUMMARIES

    def char_col(self, col: int, line_text: Optional[str]) -> int:
        """A 1-based byte column as a 1-based character column of ``line_text``."""
        if not line_text:
            return col
        data = line_text.encode("utf-8")
        return len(data[: max(col - 1, 0)].decode("utf-8", "replace")) + 1


def relative_uri(path: str, base: str) -> str:
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, base)
    except ValueError:  # pragma: no cover - other drive on Windows
        rel = absolute
    if rel.startswith(".."):
        rel = absolute
    return rel.replace(os.sep, "/")


# --- plain text ----------------------------------------------------------------------------
def write_text(diagnostics: Sequence[Diagnostic], out: TextIO, show_source: bool = False) -> None:
    for d in diagnostics:
        out.write(f"{d.path}:{d.line}:{d.col}: {d.text}\n")
        if show_source and d.source is not None:  # flake8's --show-source
            caret = d.char_col(d.col, d.source) - 1
            prefix = "".join(c if c.isspace() else " " for c in d.source[:caret])
            out.write(f"{d.source}\n{prefix}^\n")


def write_full(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    for d in diagnostics:
        out.write(f"{d.path}:{d.line}:{d.col}: {d.text}\n")
        if d.source is None:
            continue
        number = str(d.line)
        pad = " " * len(number)
        start = d.char_col(d.col, d.source)
        if d.end_line == d.line and d.end_col > d.col:
            end = d.char_col(d.end_col, d.source)
        else:
            end = len(d.source) + 1
        width = max(end - start, 1)
        out.write(f"{pad} |\n{number} | {d.source}\n")
        out.write(f"{pad} | {' ' * (start - 1)}{'^' * width} {d.code}\n{pad} |\n\n")


def write_pylint(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    for d in diagnostics:
        out.write(f"{d.path}:{d.line}: [{d.code}] {d.message}\n")


# --- JSON ----------------------------------------------------------------------------------
def _json_record(d: Diagnostic) -> Dict[str, object]:
    return {
        "code": d.code,
        "message": d.message,
        "filename": os.path.abspath(d.path),
        "location": {"row": d.line, "column": d.col},
        "end_location": {"row": d.end_line, "column": d.end_col},
        "url": None if d.is_error else help_uri(d.code),
        "fix": None,
        "noqa_row": d.line,
    }


def write_json(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    json.dump([_json_record(d) for d in diagnostics], out, indent=2)
    out.write("\n")


def write_json_lines(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    for d in diagnostics:
        out.write(json.dumps(_json_record(d)) + "\n")


# --- GitHub --------------------------------------------------------------------------------
def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def write_github(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    for d in diagnostics:
        props = ",".join(
            [
                f"title={_gh_property(f'{TOOL} ({d.code})')}",
                f"file={_gh_property(d.path)}",
                f"line={d.line}",
                f"col={d.col}",
                f"endLine={d.end_line}",
                f"endColumn={d.end_col}",
            ]
        )
        out.write(f"::error {props}::{_gh_data(f'{d.path}:{d.line}:{d.col}: {d.text}')}\n")


# --- GitLab --------------------------------------------------------------------------------
def write_gitlab(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    base = os.environ.get("CI_PROJECT_DIR") or os.getcwd()
    seen: Counter = Counter()
    records = []
    for d in diagnostics:
        path = relative_uri(d.path, base)
        key = f"{path}\0{d.code}\0{d.message}"
        seen[key] += 1
        fingerprint = hashlib.sha256(f"{key}\0{seen[key]}".encode()).hexdigest()
        records.append(
            {
                "description": f"{d.code}: {d.message}",
                "check_name": d.code,
                "fingerprint": fingerprint,
                "severity": "critical" if d.is_error else "major",
                "location": {"path": path, "lines": {"begin": d.line, "end": d.end_line}},
            }
        )
    json.dump(records, out, indent=2)
    out.write("\n")


# --- SARIF ---------------------------------------------------------------------------------
def _rule_descriptors() -> List[Dict[str, object]]:
    from flake8_rqjobs.commands.docs import explain
    from flake8_rqjobs.rules import ALL_RULES

    descriptors: List[Dict[str, object]] = []
    for rule in ALL_RULES:
        page = explain(rule)
        descriptors.append(
            {
                "id": rule.code,
                "name": rule.summary,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.doc.strip()},
                "help": {"text": page, "markdown": page},
                "helpUri": help_uri(rule.code),
                "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["rqjobs"]},
            }
        )
    for code, summary in ERROR_SUMMARIES.items():
        descriptors.append(
            {
                "id": code,
                "name": summary,
                "shortDescription": {"text": summary},
                "help": {"text": summary},
                "helpUri": INFORMATION_URI,
                "defaultConfiguration": {"level": "error"},
            }
        )
    return descriptors


def sarif_log(diagnostics: Sequence[Diagnostic], base: Optional[str] = None) -> Dict[str, object]:
    base = os.path.abspath(base or os.getcwd())
    rules = _rule_descriptors()
    index = {str(rule["id"]): i for i, rule in enumerate(rules)}
    results = []
    for d in diagnostics:
        region: Dict[str, int] = {
            "startLine": d.line,
            "startColumn": d.char_col(d.col, d.source),
            "endLine": d.end_line,
        }
        if d.end_line == d.line:
            region["endColumn"] = max(d.char_col(d.end_col, d.source), region["startColumn"])
        else:
            region["endColumn"] = max(d.end_col, 1)
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": "error",
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": relative_uri(d.path, base),
                                "uriBaseId": "%SRCROOT%",
                            },
                            "region": region,
                        }
                    }
                ],
            }
        )
    root_uri = "file://" + base.replace(os.sep, "/").rstrip("/") + "/"
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL,
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def write_sarif(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    json.dump(sarif_log(diagnostics), out, indent=2)
    out.write("\n")


# --- JUnit ---------------------------------------------------------------------------------
def write_junit(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    from xml.etree import ElementTree as ET

    suites = ET.Element("testsuites", name=TOOL, tests=str(max(len(diagnostics), 1)))
    suites.set("failures", str(len(diagnostics)))
    by_path: Dict[str, List[Diagnostic]] = {}
    for d in diagnostics:
        by_path.setdefault(d.path, []).append(d)
    if not by_path:
        suite = ET.SubElement(suites, "testsuite", name=TOOL, tests="1", failures="0")
        ET.SubElement(suite, "testcase", name="No errors found", classname=TOOL)
    for path, found in by_path.items():
        suite = ET.SubElement(
            suites, "testsuite", name=path, tests=str(len(found)), failures=str(len(found))
        )
        for d in found:
            case = ET.SubElement(
                suite, "testcase", name=f"org.{TOOL}.{d.code}", classname=path.replace("/", ".")
            )
            case.set("line", str(d.line))
            case.set("file", path)
            failure = ET.SubElement(case, "failure", message=d.message, type=d.code)
            failure.text = f"line {d.line}, col {d.col}, {d.text}"
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode"))
    out.write("\n")


WRITERS: Mapping[str, Callable[[Sequence[Diagnostic], TextIO], None]] = {
    "text": write_text,
    "concise": write_text,
    "full": write_full,
    "json": write_json,
    "json-lines": write_json_lines,
    "github": write_github,
    "gitlab": write_gitlab,
    "sarif": write_sarif,
    "junit": write_junit,
    "pylint": write_pylint,
}


def write(
    diagnostics: Sequence[Diagnostic], fmt: str, out: TextIO, show_source: bool = False
) -> None:
    if fmt in ("text", "concise"):
        write_text(diagnostics, out, show_source=show_source)
    else:
        WRITERS[fmt](diagnostics, out)


def statistics(diagnostics: Sequence[Diagnostic]) -> List[Dict[str, object]]:
    """``[{"code", "count", "summary"}]``, most frequent first (ruff's ``--statistics``)."""
    from flake8_rqjobs.rules import RULES

    counts = Counter(d.code for d in diagnostics)
    rows = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = RULES.get(code)
        rows.append(
            {
                "code": code,
                "count": count,
                "summary": rule.summary if rule else ERROR_SUMMARIES.get(code, ""),
            }
        )
    return rows
