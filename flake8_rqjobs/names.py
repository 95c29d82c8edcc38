"""The one name resolver: what a local name means, for the linter and the fixers alike.

Stdlib ``ast`` only, no type inference: ``import redis as r`` makes ``r.Redis`` mean
``redis.Redis``; ``from rq.queue import Queue as Q`` makes ``Q`` mean ``rq.Queue``; a relative
``from ..services.jobs import get_queue`` is resolved against the file's own module (see
:func:`module_location`). Aliases of the same object are canonicalised
(``redis.client.StrictRedis`` is ``redis.StrictRedis``, ``rq.queue.Queue`` is ``rq.Queue``).
A name that no import explains resolves to ``None``, and the rules never flag what does not
resolve.

- :func:`bind_import` and :func:`bind_import_from` are the one import-binding function: the
  checker calls them for ``ast`` imports, the fixers' editing model for libcst imports.
- :class:`Scope` is the scope model of the checker's single visitor: one scope per module,
  class, function, lambda or comprehension, bound in source order, so that a parameter or a
  local variable called ``redis`` hides ``import redis``. What the linter learns there travels
  to the fixers as the facts of its sites (:mod:`flake8_rqjobs.rules.base`).
"""

from __future__ import annotations

import ast
from typing import Dict, Iterable, Optional, Tuple, Union

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


def absolute_module(
    module: Optional[str], level: int, current_module: str = "", is_package: bool = False
) -> str:
    """The absolute module of ``from <level dots><module> import ...`` written in
    ``current_module`` (relative levels resolved when the file's module is known)."""
    module = module or ""
    if not level:
        return module
    parts = current_module.split(".") if current_module else []
    if not is_package and parts:
        parts = parts[:-1]
    up = level - 1
    if up > len(parts):
        return module
    base = parts[: len(parts) - up] if up else parts
    return ".".join([*base, module] if module else base)


Alias = Tuple[str, Optional[str]]  # (imported dotted name, ``as`` name or None)


def bind_import(aliases: Iterable[Alias]) -> Dict[str, str]:
    """Local name -> canonical qualified name for ``import a.b as c, d.e``."""
    bound: Dict[str, str] = {}
    for name, asname in aliases:
        if asname:
            bound[asname] = canonical(name)
        else:
            top = name.split(".", 1)[0]
            bound[top] = top
    return bound


def bind_import_from(
    module: Optional[str],
    level: int,
    aliases: Iterable[Alias],
    current_module: str = "",
    is_package: bool = False,
) -> Dict[str, str]:
    """Local name -> canonical qualified name for ``from ... import ...`` (a star import
    binds nothing)."""
    absolute = absolute_module(module, level, current_module, is_package)
    bound: Dict[str, str] = {}
    for name, asname in aliases:
        if name == "*":
            continue
        full = f"{absolute}.{name}" if absolute else name
        bound[asname or name] = canonical(full)
    return bound


def import_from_module(
    node: ast.ImportFrom, current_module: str = "", is_package: bool = False
) -> str:
    """The absolute module of an ``ast`` ``from ... import``."""
    return absolute_module(node.module, node.level, current_module, is_package)


def import_bindings(
    node: Union[ast.Import, ast.ImportFrom], current_module: str = "", is_package: bool = False
) -> Dict[str, str]:
    """Local name -> canonical qualified name for one ``ast`` import statement."""
    aliases = [(alias.name, alias.asname) for alias in node.names]
    if isinstance(node, ast.Import):
        return bind_import(aliases)
    return bind_import_from(node.module, node.level, aliases, current_module, is_package)


def module_location(relative_path: str) -> Tuple[str, bool]:
    """(dotted module, is a package ``__init__``) of a POSIX path relative to the root: what
    relative imports are resolved against."""
    return module_name(relative_path), relative_path.endswith("__init__.py")


class Scope:
    """One Python scope's bindings, in source order, with a link to the enclosing scope.

    ``bindings`` is what each name means now; ``values`` the expression last assigned to a
    plain name (``url = os.getenv("REDIS_URL")``) while that is its only binding here, so that
    a rule can follow a variable to its value."""

    __slots__ = ("bindings", "parent", "is_class", "values", "counts")

    def __init__(self, parent: Optional[Scope] = None, is_class: bool = False) -> None:
        self.bindings: Dict[str, str] = {}
        self.values: Dict[str, ast.AST] = {}
        self.counts: Dict[str, int] = {}
        self.parent = parent
        self.is_class = is_class

    def bind(self, name: str, value: str, expr: Optional[ast.AST] = None) -> None:
        self.bindings[name] = value
        count = self.counts.get(name, 0) + 1
        self.counts[name] = count
        if expr is not None and count == 1:
            self.values[name] = expr
        else:
            self.values.pop(name, None)

    def owner(self, name: str) -> Optional[Scope]:
        """The scope whose binding of ``name`` a read here sees (class scopes are only
        visible from their own body, as in Python); ``None`` when nothing binds it."""
        scope: Optional[Scope] = self
        first = True
        while scope is not None:
            if (first or not scope.is_class) and name in scope.bindings:
                return scope
            first = False
            scope = scope.parent
        return None

    def lookup(self, name: str) -> Optional[str]:
        """The binding of ``name`` here or in an enclosing scope; ``None`` when nothing
        binds it."""
        owner = self.owner(name)
        return owner.bindings[name] if owner is not None else None


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
