"""Import resolution: every alias form, canonical names, scopes."""

from __future__ import annotations

import ast
from typing import List

import pytest

from flake8_rqjobs.names import (
    Scope,
    canonical,
    import_bindings,
    import_from_module,
    module_name,
    resolve,
)


def _scopes(tree: ast.AST) -> List[Scope]:
    """The module's scope and one per function, bound by the resolver's import function."""
    module = Scope()
    found = [module]

    def fill(body: List[ast.stmt], scope: Scope) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name, target in import_bindings(node).items():
                    scope.bind(name, target)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = Scope(scope)
                found.append(inner)
                fill(node.body, inner)

    assert isinstance(tree, ast.Module)
    fill(tree.body, module)
    return found


def _resolve(source: str, expr: str) -> object:
    """What ``expr`` means in ``source``: the one meaning it has in every scope where it
    resolves, ``None`` when it resolves nowhere or to two different things."""
    node = ast.parse(expr, mode="eval").body
    meanings = {resolve(node, scope) for scope in _scopes(ast.parse(source))} - {None}
    return meanings.pop() if len(meanings) == 1 else None


@pytest.mark.parametrize(
    ("source", "expr", "expected"),
    [
        ("import redis", "redis.Redis.from_url", "redis.Redis.from_url"),
        ("import redis as r", "r.StrictRedis", "redis.StrictRedis"),
        ("from redis import Redis as R", "R.from_url", "redis.Redis.from_url"),
        ("from redis.client import StrictRedis", "StrictRedis", "redis.StrictRedis"),
        ("from redis.client import Redis", "Redis.from_url", "redis.Redis.from_url"),
        ("import redis.sentinel", "redis.sentinel.Sentinel", "redis.Sentinel"),
        ("from redis.connection import ConnectionPool", "ConnectionPool", "redis.ConnectionPool"),
        ("import rq", "rq.Queue", "rq.Queue"),
        ("from rq import Queue as Q", "Q", "rq.Queue"),
        ("from rq.queue import Queue", "Queue.all", "rq.Queue.all"),
        ("import rq.queue as rqq", "rqq.Queue", "rq.Queue"),
        ("from redis.asyncio import Redis", "Redis", "redis.asyncio.Redis"),
        ("import queue", "queue.Queue", "queue.Queue"),
        ("def f():\n    from rq import Queue", "Queue", "rq.Queue"),
        ("import redis", "other.Redis", None),
        ("from rq import *", "Queue", None),
    ],
)
def test_alias_forms(source: str, expr: str, expected: object) -> None:
    assert _resolve(source, expr) == expected


def test_conflicting_imports_are_ambiguous() -> None:
    source = "from queue import Queue\ndef f():\n    from rq import Queue\n"
    assert _resolve(source, "Queue") is None


def test_canonical() -> None:
    assert canonical("redis.client.Redis.from_url") == "redis.Redis.from_url"
    assert canonical("rq.queue.Queue") == "rq.Queue"
    assert canonical("redis.asyncio.client.Redis") == "redis.asyncio.client.Redis"


def test_relative_imports() -> None:
    node = ast.parse("from ..services.jobs import enqueue").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert import_from_module(node, "app.api.routes") == "app.services.jobs"
    assert import_bindings(node, "app.api.routes") == {"enqueue": "app.services.jobs.enqueue"}
    package = ast.parse("from . import jobs").body[0]
    assert isinstance(package, ast.ImportFrom)
    assert import_bindings(package, "app.services", is_package=True) == {
        "jobs": "app.services.jobs"
    }
    assert module_name("app/services/__init__.py") == "app.services"
    assert module_name("./app/tasks.py") == "app.tasks"
