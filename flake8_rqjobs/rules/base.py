"""What every rule is made of: a code, a message, its documentation and its examples.

A rule family module (``redis_clients.py``, ``queues.py``, ...) defines :class:`Rule` objects
and a ``check_call(ctx, call, qualname)`` hook that the checker's single visitor calls for every
``ast.Call``; it may also define ``value_kind(ctx, expr)`` to tell the visitor what an
assignment binds (an RQ queue, a Redis lock, a non-deterministic value).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Mapping, Optional, Protocol, Set, Tuple

from flake8_rqjobs.config import Config


@dataclass(frozen=True)
class Example:
    """A code sample run by the tests through real flake8 (Fixit's VALID/INVALID style).

    ``filename`` is where the sample is written (relative to a fresh project root; it
    matters for wrapper and scheduler paths), ``options`` are ``[tool.rqjobs]`` settings for
    that project, ``lines`` the report lines an INVALID sample must produce for its rule
    (empty: at least one anywhere), ``also`` other codes the sample legitimately triggers.
    """

    code: str
    filename: str = "app/tasks.py"
    options: Mapping[str, object] = field(default_factory=dict)
    lines: Tuple[int, ...] = ()
    also: Tuple[str, ...] = ()


def Valid(code: str, **kwargs: object) -> Example:  # noqa: N802 - Fixit's spelling
    return Example(code=code, **kwargs)  # type: ignore[arg-type]


def Invalid(code: str, **kwargs: object) -> Example:  # noqa: N802 - Fixit's spelling
    return Example(code=code, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Rule:
    """One RQJ rule. ``message`` is a ``str.format`` template (fields vary per rule; the
    checker always supplies ``wrapper``, the configured wrapper module)."""

    code: str
    summary: str
    message: str
    doc: str
    valid: Tuple[Example, ...] = ()
    invalid: Tuple[Example, ...] = ()

    def format(self, **fields: object) -> str:
        return f"{self.code} " + self.message.format(**fields)


class Context(Protocol):
    """What the checker's visitor offers to the rule hooks."""

    config: Config
    event_job_defs: Set[str]
    loop_depth: int
    in_webhook_handler: bool

    def resolve(self, expr: ast.AST) -> Optional[str]: ...

    def binding_of(self, expr: ast.AST) -> Optional[str]: ...

    def in_scheduler_code(self) -> bool: ...

    def number(self, expr: ast.AST) -> Optional[float]: ...

    def report(self, node: ast.AST, rule: Rule, **fields: object) -> None: ...


def terminal_name(expr: ast.AST) -> Optional[str]:
    """``f`` for ``f``, ``c`` for ``a.b.c``, else ``None``."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def spelled(expr: ast.AST) -> str:
    """How the user wrote a callee, for messages: ``r.Redis.from_url``."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    elif isinstance(expr, ast.Call):
        inner = spelled(expr.func)
        parts.append(f"{inner}(...)")
    else:
        parts.append("...")
    return ".".join(reversed(parts))


def keyword(call: ast.Call, name: str) -> Optional[ast.keyword]:
    for kw in call.keywords:
        if kw.arg == name:
            return kw
    return None


def has_star_kwargs(call: ast.Call) -> bool:
    return any(kw.arg is None for kw in call.keywords)
