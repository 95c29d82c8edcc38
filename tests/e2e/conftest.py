"""Fixtures for the end-to-end tests of the ProSaaS example (``examples/prosaas``).

The migrated application (``examples/prosaas/app``) is imported in this process for the
Flask test client and run in real subprocesses (``rqjobs worker``, ``rqjobs scheduler``,
gunicorn) with ``PYTHONPATH`` pointing at it. ``legacy/`` is only linted, never imported
here: both trees define the same package name, ``prosaas``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from prosaas_support import APP_ROOT, OWN_REDIS_PASSWORD, QUEUES, REDIS_SERVER, SECRET, Proc
from pytest_redis import factories

# A second server, only for the tests that stop it (and with a password, to check that no
# error message leaks it): never the session's server, which other tests share.
own_redis_proc = factories.redis_proc(
    executable=REDIS_SERVER,
    port=None,  # type: ignore[arg-type]  # None: any free port (as in tests/conftest.py)
    password=OWN_REDIS_PASSWORD,
)


@pytest.fixture
def procs() -> Iterator[Callable[..., Proc]]:
    """Start subprocesses (``procs(argv, env)``); every one is stopped after the test."""
    started: list[Proc] = []

    def start(argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(argv, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop(timeout=5)


@pytest.fixture
def prosaas_env(rqjobs_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The session's Redis for the in-process app, its secret and queue allow-list; role ``api``."""
    monkeypatch.setenv("INTERNAL_SECRET", SECRET)
    monkeypatch.setenv("RQJOBS_QUEUES", QUEUES)
    monkeypatch.setenv("SERVICE_ROLE", "api")
    if str(APP_ROOT) not in sys.path:
        sys.path.insert(0, str(APP_ROOT))
    import prosaas

    assert Path(prosaas.__file__).resolve().is_relative_to(APP_ROOT), prosaas.__file__
    yield rqjobs_env


@pytest.fixture
def client(prosaas_env: str):  # type: ignore[no-untyped-def]
    """Flask test client of ``create_app()`` in the ``api`` role."""
    from prosaas.factory import create_app

    app = create_app()
    app.testing = True
    return app.test_client()
