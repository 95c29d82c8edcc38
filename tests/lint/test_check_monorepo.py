"""Configuration per file: in a monorepo with one ``[tool.rqjobs]`` per service and one
run from the root, each file uses its own service's settings (and nearest flake8 file);
``--config`` forces one file, ``--isolated`` reads none."""

from __future__ import annotations

from pathlib import Path

from .helpers import check, toml_value

SLEEPER = "import time\n\ndef run_scheduler():\n    while True:\n        time.sleep(30)\n"
WRAPPED = "import redis\nclient = redis.Redis()\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def monorepo(root: Path) -> Path:
    write(root / "pyproject.toml", '[project]\nname = "mono"\n')
    write(root / ".pre-commit-config.yaml", "repos: []\n")
    for service, table in (
        ("billing", {"max-tick": 60, "wrapper-modules": ["*/infra/redis_conn.py"]}),
        ("search", {"max-tick": 10, "select": ["RQJ2"]}),
    ):
        body = "\n".join(f"{k} = {toml_value(v)}" for k, v in table.items())
        write(root / service / "pyproject.toml", f"[tool.rqjobs]\n{body}\n")
        write(root / service / "app" / "loop.py", SLEEPER)
        write(root / service / "app" / "infra" / "redis_conn.py", WRAPPED)
    write(root / "search" / ".flake8", "[flake8]\nextend-exclude = legacy\nrqjobs-max-tick = 20\n")
    write(root / "search" / "legacy" / "old.py", WRAPPED)
    write(root / "tools" / "loop.py", SLEEPER)  # no [tool.rqjobs]: the defaults
    return root


def test_each_service_uses_its_own_configuration(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    run = check(root, ".")
    # billing: max-tick 60 (no RQJ201 for 30 s), its wrapper module is sanctioned;
    # search: select RQJ2 only (RQJ001 in redis_conn.py not shown), the flake8 file's
    # rqjobs-max-tick 20 wins over pyproject's 10 (30 s > 20 s), legacy/ excluded;
    # tools: no [tool.rqjobs], the default 15 s.
    assert {(f.path, f.code) for f in run.findings} == {
        ("./search/app/loop.py", "RQJ201"),
        ("./tools/loop.py", "RQJ201"),
    }
    # The same file gives the same result whatever the working directory.
    from_service = check(root / "search", "app")
    assert [(f.path, f.code) for f in from_service.findings] == [("app/loop.py", "RQJ201")]
    assert check(root / "billing", ".").findings == []


def test_statistics_name_each_services_excludes(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    out = check(root, "--statistics", ".").stdout
    assert "1 files excluded by config" in out and "search/.flake8" in out


def test_config_forces_one_file(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    run = check(root, "--config", "billing/pyproject.toml", ".")
    found = {(f.path, f.code) for f in run.findings}
    # billing's settings everywhere: max-tick 60, its wrapper glob (which also matches
    # search's redis_conn.py: "*" spans "/"), no select, search's .flake8 not read.
    assert found == {("./search/legacy/old.py", "RQJ001")}
    flake8_forced = check(root, "--config", "search/.flake8", ".")
    assert ("./search/legacy/old.py", "RQJ001") not in {
        (f.path, f.code) for f in flake8_forced.findings
    }


def test_isolated_reads_no_configuration(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    found = {(f.path, f.code) for f in check(root, "--isolated", ".").findings}
    assert ("./billing/app/loop.py", "RQJ201") in found  # default max-tick 15
    assert ("./search/legacy/old.py", "RQJ001") in found  # no exclude
    assert ("./billing/app/infra/redis_conn.py", "RQJ001") in found  # default wrapper glob
