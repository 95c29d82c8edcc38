"""Resolve local names to qualified names through a module's import statements.

Stdlib ``ast`` only, no type inference: ``import redis as r`` makes ``r.Redis`` mean
``redis.Redis``; ``from rq.queue import Queue as Q`` makes ``Q`` mean ``rq.Queue``. Aliases
of the same object are canonicalised (``redis.client.StrictRedis`` is ``redis.StrictRedis``,
``rq.queue.Queue`` is ``rq.Queue``). A name that no import explains resolves to ``None``, and
the rules never flag what does not resolve.

Two interfaces:

- :class:`Scope` is what the checker's single visitor uses: one scope per module, class,
  function, lambda or comprehension, bound in source order, so that a parameter or a local
  variable called ``redis`` hides ``import redis``.
- :func:`collect_imports` and :func:`qualified_name` give a flat, scope-free map of a whole
  module (imports inside functions included), for tools that only need "what does this name
  mean here" (the codemods).
"""

from __future__ import annotations

import ast
from typing import Dict, Mapping, Optional, Union

# Re-exports inside the libraries: the same object under a longer path.
_CANONICAL: Dict[str, str] = {
    "redis.client.Redis": "redis.Redis",
    "redis.client.StrictRedis": "redis.StrictRedis",
    "redis.connection.ConnectionPool": "redis.ConnectionPool",
    "redis.connection.BlockingConnectionPool": "redis.BlockingConnectionPool",
    "redis.sentinel.Sentinel": "redis.Sentinel",
    "redis.cluster.RedisCluster": "redis.RedisCluster",
    "redis.utils.from_url": "redis.from_url",
    "rq.queue.Queue": "rq.Queue",
    "rq.job.Job": "rq.Job",
    "django_rq.queues.get_queue": "django_rq.get_queue",
}

# Binding values that are not qualified names start with "@".
UNKNOWN = "@unknown"  # bound in this scope to something we do not track (hides outer names)
LOCAL_DEF = "@def"  # a function defined in this module


def canonical(qualname: str) -> str:
    """The canonical spelling of ``qualname`` (``redis.client.Redis.from_url`` ->
    ``redis.Redis.from_url``)."""
    if qualname in _CANONICAL:
        return _CANONICAL[qualname]
    head, dot, tail = qualname.rpartition(".")
    while head:
        if head in _CANONICAL:
            return _CANONICAL[head] + "." + qualname[len(head) + 1 :]
        head, dot, _ = head.rpartition(".")
    return qualname


def module_name(relative_path: str) -> str:
    """Dotted module name of a POSIX path relative to the project root."""
    path = relative_path[:-3] if relative_path.endswith(".py") else relative_path
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_from_module(
    node: ast.ImportFrom, current_module: str = "", is_package: bool = False
) -> str:
    """The absolute module of a ``from ... import`` (relative levels resolved when possible)."""
    module = node.module or ""
    if not node.level:
        return module
    parts = current_module.split(".") if current_module else []
    if not is_package and parts:
        parts = parts[:-1]
    up = node.level - 1
    if up > len(parts):
        return module
    base = parts[: len(parts) - up] if up else parts
    return ".".join([*base, module] if module else base)


def import_bindings(
    node: Union[ast.Import, ast.ImportFrom], current_module: str = "", is_package: bool = False
) -> Dict[str, str]:
    """Local name -> canonical qualified name for one import statement (star imports bind
    nothing)."""
    bound: Dict[str, str] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                bound[alias.asname] = canonical(alias.name)
            else:
                top = alias.name.split(".", 1)[0]
                bound[top] = top
        return bound
    module = import_from_module(node, current_module, is_package)
    for alias in node.names:
        if alias.name == "*":
            continue
        full = f"{module}.{alias.name}" if module else alias.name
        bound[alias.asname or alias.name] = canonical(full)
    return bound


class Scope:
    """One Python scope's bindings, in source order, with a link to the enclosing scope."""

    __slots__ = ("bindings", "parent", "is_class")

    def __init__(self, parent: Optional[Scope] = None, is_class: bool = False) -> None:
        self.bindings: Dict[str, str] = {}
        self.parent = parent
        self.is_class = is_class

    def bind(self, name: str, value: str) -> None:
        self.bindings[name] = value

    def lookup(self, name: str) -> Optional[str]:
        """The binding of ``name`` here or in an enclosing scope (class scopes are only
        visible from their own body, as in Python); ``None`` when nothing binds it."""
        scope: Optional[Scope] = self
        first = True
        while scope is not None:
            if first or not scope.is_class:
                value = scope.bindings.get(name)
                if value is not None:
                    return value
            first = False
            scope = scope.parent
        return None


def dotted_name(expr: ast.AST) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, else ``None``."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def resolve(expr: ast.AST, scope: Scope) -> Optional[str]:
    """Canonical qualified name of a Name/Attribute chain, or ``None`` when its root is not
    an import (or an alias of one)."""
    attrs = []
    while isinstance(expr, ast.Attribute):
        attrs.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    root = scope.lookup(expr.id)
    if root is None or root.startswith("@"):
        return None
    if not attrs:
        return root
    return canonical(".".join([root, *reversed(attrs)]))


def collect_imports(
    tree: ast.AST, current_module: str = "", is_package: bool = False
) -> Dict[str, str]:
    """A flat map of every import in ``tree`` (function bodies included). A local name
    imported as two different objects in different places is left out (ambiguous)."""
    found: Dict[str, str] = {}
    ambiguous = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name, target in import_bindings(node, current_module, is_package).items():
                if found.get(name, target) != target:
                    ambiguous.add(name)
                found[name] = target
    for name in ambiguous:
        del found[name]
    return found


def qualified_name(expr: ast.AST, imports: Mapping[str, str]) -> Optional[str]:
    """Canonical qualified name of a Name/Attribute chain under a flat import map."""
    dotted = dotted_name(expr)
    if dotted is None:
        return None
    root, dot, rest = dotted.partition(".")
    target = imports.get(root)
    if target is None:
        return None
    return canonical(f"{target}.{rest}" if rest else target)
