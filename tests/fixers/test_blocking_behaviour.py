"""A client used for a blocking command behaves the same after ``fix``, against a real Redis.

The legacy client (redis-py: no socket timeout) waits the whole BLPOP timeout and gets None.
The fixed client is ``get_redis(socket_timeout=None)``: the same. A plain ``get_redis()``
would not be: its socket timeout (1 s here, ``RQJOBS_SOCKET_TIMEOUT``, 3 s by default) is
shorter than the wait, and the call raises instead (checked too: the test can tell them apart).
"""

from __future__ import annotations

import time
import types
from pathlib import Path

import pytest

from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers import ALL_CODES
from flake8_rqjobs.fixers.engine import fix_source
from flake8_rqjobs.fixers.report import Options

WAIT = 2  # the BLPOP timeout (8 s in the report; 2 s keeps the test short)

LEGACY = f"""\
import os

import redis

r = redis.from_url(os.environ["REDIS_URL"])


def next_message():
    return r.blpop("inbox", timeout={WAIT})
"""


def _run(code: str) -> tuple:
    module = types.ModuleType("fixed_inbox")
    exec(compile(code, "fixed_inbox.py", "exec"), module.__dict__)
    start = time.monotonic()
    try:
        value = module.next_message()
    except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
        value = type(exc).__name__
    return value, time.monotonic() - start


@pytest.mark.runtime
def test_blpop_returns_none_after_the_same_wait_after_fix(
    rqjobs_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import rqjobs

    monkeypatch.setenv("RQJOBS_SOCKET_TIMEOUT", "1")
    rqjobs.reset_redis()
    result = fix_source(
        LEGACY, str(tmp_path / "inbox.py"), Config(root=tmp_path), Options(ALL_CODES)
    )
    assert result.new is not None
    assert "r = get_redis(socket_timeout=None)\n" in result.new

    before, before_wait = _run(LEGACY)
    after, after_wait = _run(result.new)
    assert before is None and after is None
    assert WAIT - 0.2 <= before_wait < WAIT + 1.5
    assert WAIT - 0.2 <= after_wait < WAIT + 1.5

    # The rewrite without socket_timeout=None: the 1 s socket timeout cuts each try short,
    # and the call raises (after its retries) instead of returning None.
    naive, _ = _run(result.new.replace("get_redis(socket_timeout=None)", "get_redis()"))
    assert naive in ("TimeoutError", "RedisTimedOut")


def test_a_client_another_module_blocks_on_keeps_no_socket_timeout(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "worker.py").write_text(
        "from app.config import inbox\n\n\ndef run():\n    return inbox.blpop('k', timeout=8)\n"
    )
    config_text = "import os\n\nimport redis\n\ninbox = redis.from_url(os.environ['REDIS_URL'])\n"
    path = str(tmp_path / "app" / "config.py")
    result = fix_source(config_text, path, Config(root=tmp_path), Options(ALL_CODES))
    assert result.new is not None and "inbox = get_redis(socket_timeout=None)\n" in result.new
