"""The wrapper's own default URL: read from its source (--wrapper-module), or given."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.fixers.engine import fix_source
from flake8_rqjobs.fixers.report import Options
from flake8_rqjobs.fixers.wrapper_source import read_default, wrapper_default

WRAPPER = """\
import os

import redis

REDIS_URL = os.getenv("REDIS_URL", "redis://redis:6379/0")


def get_redis(**options):
    return redis.Redis.from_url(REDIS_URL, **options)
"""

CLIENTS = """\
import os

from redis import Redis

a = Redis.from_url(os.getenv("REDIS_URL", "redis://redis:6379/0"))
b = Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"))
"""


def _fix(root: Path, options: Options) -> tuple:
    config = replace(Config(root=root), wrapper_module="services.jobs")
    result = fix_source(CLIENTS, str(root / "app" / "clients.py"), config, options)
    return result.new, [(m.line, m.text) for m in result.manual]


def test_the_wrappers_fallback_is_read_from_its_source(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "jobs.py").write_text(WRAPPER)
    new, manual = _fix(tmp_path, Options(ALL_CODES))
    assert new is not None and "a = get_redis()\n" in new
    assert manual == [
        (
            6,
            "REDIS_URL falls back to 'redis://localhost:6379/0', not the wrapper's "
            "'redis://redis:6379/0' (from services/jobs.py, its REDIS_URL fallback): "
            "get_redis() would use another server when REDIS_URL is unset",
        )
    ]


def test_the_option_overrides_the_source(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "jobs.py").write_text(WRAPPER)
    options = Options(ALL_CODES, wrapper_default_url="redis://localhost:6379/0")
    new, manual = _fix(tmp_path, options)
    assert new is not None and "b = get_redis()\n" in new
    assert [line for line, _ in manual] == [5]


def test_a_wrapper_that_reexports_the_runtime_has_the_runtimes_default(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "jobs.py").write_text("from rqjobs import enqueue, get_redis\n")
    wrapper_default.cache_clear()
    new, manual = _fix(tmp_path, Options(ALL_CODES))
    assert new is not None and "b = get_redis()\n" in new
    assert [line for line, _ in manual] == [5]


def test_read_default_forms() -> None:
    parameter = "def get_redis(url='redis://cache:6379/1', **options):\n    ...\n"
    assert read_default(parameter, "w.py").url == "redis://cache:6379/1"
    constant = (
        "import os\nDEFAULT_REDIS_URL = 'redis://r:6379/0'\n"
        "def get_redis():\n    return make(os.environ.get('REDIS_URL', DEFAULT_REDIS_URL))\n"
    )
    assert read_default(constant, "w.py").url == "redis://r:6379/0"
    unknown = "def get_redis():\n    return make(settings.URL)\n"
    assert read_default(unknown, "w.py").url is None
    assert read_default("from rqjobs import *\n", "w.py").url == "redis://localhost:6379/0"
