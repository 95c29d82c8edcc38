"""The linter and fixer restate a few runtime facts (they never import ``rqjobs``): they agree."""

from __future__ import annotations


def test_fixer_constants_agree_with_the_runtime() -> None:
    from rqjobs.enqueue import RQ_OPTIONS as RUNTIME_OPTIONS
    from rqjobs.settings import DEFAULT_REDIS_URL

    from flake8_rqjobs.fixers.queues import RQ_OPTIONS
    from flake8_rqjobs.fixers.redis_clients import RUNTIME_DEFAULT_URL

    assert RUNTIME_DEFAULT_URL == DEFAULT_REDIS_URL
    assert RQ_OPTIONS - {"args", "kwargs"} == set(RUNTIME_OPTIONS)
