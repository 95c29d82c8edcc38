"""Run real flake8 (and ``flake8-rqjobs check``) in a subprocess, in a given project dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus"


class Finding(NamedTuple):
    path: str
    line: int
    col: int
    code: str


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> List[Finding]:
        found = []
        for row in self.stdout.splitlines():
            path, line, col, rest = row.split(":", 3)
            found.append(Finding(path, int(line), int(col), rest.split()[0]))
        return sorted(found)


def _run(command: Sequence[str], cwd: Path) -> Run:
    done = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, timeout=300)
    return Run(done.returncode, done.stdout, done.stderr)


def flake8(cwd: Path, *args: str) -> Run:
    """``flake8 --select RQJ -j1 ARGS`` with ``cwd`` as the working directory."""
    return _run([sys.executable, "-m", "flake8", "--select", "RQJ", "-j1", *args], cwd)


def check(cwd: Path, *args: str) -> Run:
    """``flake8-rqjobs check ARGS`` with ``cwd`` as the working directory."""
    return _run([sys.executable, "-m", "flake8_rqjobs.cli", "check", *args], cwd)


def toml_value(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def write_project(
    root: Path,
    files: Mapping[str, str],
    pyproject: Optional[Mapping[str, object]] = None,
    flake8_cfg: Optional[Mapping[str, str]] = None,
) -> Path:
    """A project dir with its own pyproject.toml (``[tool.rqjobs]`` = ``pyproject``) and,
    optionally, a ``.flake8`` whose ``[flake8]`` section holds ``flake8_cfg``."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["[project]", 'name = "sample"', ""]
    if pyproject is not None:
        lines.append("[tool.rqjobs]")
        lines += [f"{key} = {toml_value(value)}" for key, value in pyproject.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if flake8_cfg is not None:
        body = "\n".join(f"{key} = {value}" for key, value in flake8_cfg.items())
        (root / ".flake8").write_text(f"[flake8]\n{body}\n", encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def cli_options(options: Mapping[str, object]) -> List[str]:
    """``{"max-tick": 60}`` -> ``["--rqjobs-max-tick=60"]`` (lists comma-separated)."""
    args = []
    for key, value in options.items():
        text = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
        args.append(f"--rqjobs-{key}={text}")
    return args


def by_file(findings: Sequence[Finding]) -> Dict[str, List[Finding]]:
    grouped: Dict[str, List[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.path.lstrip("./"), []).append(finding)
    return grouped


_PROJECTS = [0]


def example_project(base: Path, files: Mapping[str, str]) -> Path:
    """``base`` for an example without other modules, else a fresh project folder under it
    with those modules written (their project-wide facts decide the example)."""
    if not files:
        return base
    _PROJECTS[0] += 1
    root = base / f"project-{_PROJECTS[0]}"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root
