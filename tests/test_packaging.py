"""The two distributions of this repository: versioned together, split as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _project(path: Path) -> dict:  # type: ignore[type-arg]
    with path.open("rb") as handle:
        return dict(tomllib.load(handle)["project"])


def test_the_two_distributions_share_one_version() -> None:
    linter = _project(ROOT / "pyproject.toml")
    runtime = _project(ROOT / "runtime" / "pyproject.toml")
    assert linter["name"] == "flake8-rqjobs" and runtime["name"] == "rqjobs"
    assert linter["version"] == runtime["version"]
    assert f"rqjobs[flask,metrics]=={runtime['version']}" in linter["optional-dependencies"]["dev"]
    import rqjobs

    import flake8_rqjobs

    assert flake8_rqjobs.__version__ == rqjobs.__version__ == linter["version"]


def test_runtime_dependencies_have_measured_bounds() -> None:
    runtime = _project(ROOT / "runtime" / "pyproject.toml")
    deps = runtime["dependencies"]
    assert "redis>=5.3,<9" in deps  # 5.0 and 5.2 fail on import (ExponentialWithJitterBackoff)
    assert all("<" in dep for dep in deps)
    linter = _project(ROOT / "pyproject.toml")
    assert not any(dep.startswith(("redis", "rq", "croniter")) for dep in linter["dependencies"])
    assert "rqjobs" not in linter.get("scripts", {})


def test_the_runtime_command_prints_its_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rqjobs.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    version = _project(ROOT / "runtime" / "pyproject.toml")["version"]
    assert result.stdout.strip() == f"rqjobs {version}"
