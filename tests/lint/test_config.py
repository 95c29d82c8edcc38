"""Configuration: pyproject keys, flake8 options (which win), bad values, path matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_rqjobs.config import Config, ConfigError, apply_settings, load_config

from .helpers import check, flake8, write_project

SCHEDULER_LOOP = "import time\n\nwhile True:\n    time.sleep(30)\n"


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config(root=tmp_path.resolve())
    assert config.max_tick == 15.0
    assert config.queue_factories == ("get_queue", "django_rq.get_queue")


def test_pyproject_found_walking_up(tmp_path: Path) -> None:
    write_project(tmp_path, {}, pyproject={"max-tick": 30, "event-jobs": ["lead_*"]})
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    config = load_config(nested)
    assert config.root == tmp_path.resolve()
    assert config.max_tick == 30.0
    assert config.event_jobs == ("lead_*",)


def test_overrides_win_and_none_is_ignored(tmp_path: Path) -> None:
    write_project(tmp_path, {}, pyproject={"max-tick": 30, "deprecated": ["boot_*"]})
    config = load_config(tmp_path, {"max-tick": "5", "deprecated": None})
    assert config.max_tick == 5.0
    assert config.deprecated == ("boot_*",)


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"max-tick": "-3"}, "max-tick must be a positive number, got '-3'"),
        ({"max-tick": "0"}, "max-tick must be a positive number"),
        ({"max-tick": "soon"}, "max-tick must be a positive number, got 'soon'"),
        ({"max-tick": True}, "max-tick must be a positive number"),
        ({"max-tick": "nan"}, "max-tick must be a positive number"),
        ({"event-jobs": 3}, "event-jobs must be a list of strings"),
        ({"event-jobs": ["ok", 1]}, "event-jobs must be a list of strings"),
        ({"wrapper-module": "not a module"}, "wrapper-module must be a dotted module name"),
        ({"max_tik": 3}, "unknown option 'max_tik'"),
    ],
)
def test_bad_values_name_the_option(settings: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_settings(Config(), settings, "pyproject.toml")
    assert needle in str(info.value)


def test_unknown_key_in_pyproject(tmp_path: Path) -> None:
    write_project(tmp_path, {}, pyproject={"wrapper_modules": ["x.py"]})
    with pytest.raises(ConfigError, match="unknown option 'wrapper_modules'"):
        load_config(tmp_path)


def test_bad_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.rqjobs\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)


def test_path_matching(tmp_path: Path) -> None:
    config = Config(root=tmp_path, wrapper_modules=("*/services/jobs.py", "lib/bg/*.py"))
    assert config.is_sanctioned(str(tmp_path / "app" / "services" / "jobs.py"))
    assert config.is_sanctioned(str(tmp_path / "services" / "jobs.py"))  # at the root too
    assert config.is_sanctioned(str(tmp_path / "lib" / "bg" / "queues.py"))
    assert config.is_sanctioned(str(tmp_path / "runtime" / "rqjobs" / "connection.py"))
    assert not config.is_sanctioned(str(tmp_path / "app" / "services" / "jobs_test.py"))
    assert not config.is_sanctioned(str(tmp_path / "rqjobs.py"))
    assert config.is_scheduler_path(str(tmp_path / "app" / "scheduler.py"))
    assert config.is_scheduler_path(str(tmp_path / "app" / "schedulers" / "x.py"))
    assert not config.is_scheduler_path(str(tmp_path / "app" / "tasks.py"))
    assert config.is_wrapper_module("app.services.jobs")
    assert config.is_wrapper_module("services.jobs")
    assert config.is_wrapper_module("rqjobs")
    assert not config.is_wrapper_module("app.services.jobs_old")


@pytest.mark.smoke
def test_flake8_option_wins_over_pyproject(tmp_path: Path) -> None:
    write_project(tmp_path, {"app/scheduler.py": SCHEDULER_LOOP}, pyproject={"max-tick": 60})
    assert flake8(tmp_path, ".").findings == []
    run = flake8(tmp_path, "--rqjobs-max-tick=10", ".")
    assert [f.code for f in run.findings] == ["RQJ201"]


def test_flake8_config_file_option(tmp_path: Path) -> None:
    """``rqjobs-*`` keys in ``.flake8`` work, win over pyproject, and the check command
    reads them too."""
    write_project(
        tmp_path,
        {"app/scheduler.py": SCHEDULER_LOOP},
        pyproject={"max-tick": 10},
        flake8_cfg={"rqjobs-max-tick": "60"},
    )
    assert flake8(tmp_path, ".").findings == []
    assert check(tmp_path, ".").findings == []
    (tmp_path / ".flake8").write_text("[flake8]\nrqjobs_max_tick = 20\n", encoding="utf-8")
    assert [f.code for f in flake8(tmp_path, ".").findings] == ["RQJ201"]
    assert [f.code for f in check(tmp_path, ".").findings] == ["RQJ201"]


def test_list_options_in_flake8_config(tmp_path: Path) -> None:
    files = {"app/boot.py": "boot_cache()\nwarm_up()\nstart_x_scheduler()\n"}
    write_project(tmp_path, files, flake8_cfg={"rqjobs-deprecated": "\n    boot_*,\n    warm_up"})
    for run in (flake8(tmp_path, "."), check(tmp_path, ".")):
        assert [(f.line, f.code) for f in run.findings] == [(1, "RQJ100"), (2, "RQJ100")]


@pytest.mark.parametrize(
    ("args", "pyproject", "needle"),
    [
        (["--rqjobs-max-tick=-3"], None, "--rqjobs-max-tick must be a positive number, got '-3'"),
        (["--rqjobs-wrapper-module=1x"], None, "--rqjobs-wrapper-module must be a dotted"),
        ([], {"max-tick": "abc"}, "max-tick must be a positive number, got 'abc'"),
        ([], {"tick": 3}, "unknown option 'tick'"),
    ],
)
def test_bad_option_is_one_clear_line(
    tmp_path: Path, args: list, pyproject: dict, needle: str
) -> None:
    write_project(tmp_path, {"a.py": "x = 1\n"}, pyproject=pyproject)
    for run in (flake8(tmp_path, *args, "."), check(tmp_path, *args, ".")):
        assert run.returncode == 2
        assert "Traceback" not in run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], run.stderr
        assert lines[0].startswith("flake8-rqjobs: ")
