"""The one name resolver: what a local name means, for the linter and the fixers alike.

Stdlib ``ast`` only, no type inference: ``import redis as r`` makes ``r.Redis`` mean
``redis.Redis``; ``from rq.queue import Queue as Q`` makes ``Q`` mean ``rq.Queue``; a relative
``from ..services.jobs import get_queue`` is resolved against the file's own module (see
:func:`module_location`). Aliases of the same object are canonicalised
(``redis.client.StrictRedis`` is ``redis.StrictRedis``, ``rq.queue.Queue`` is ``rq.Queue``).
A name that no import explains resolves to ``None``, and the rules never flag what does not
resolve.

- :func:`bind_import` and :func:`bind_import_from` are the one import-binding function.
- :class:`Scope` is the scope model of the checker's single visitor: one scope per module,
  class, function, lambda or comprehension. ``bindings`` is bound in source order (a
  parameter or a local variable called ``redis`` hides ``import redis``); ``sites`` and
  ``refs`` hold every binding and read over the whole scope. :class:`FileModel` is that model
  for one file: the checker hands it, with the sites, to the fixers, which have no scopes of
  their own.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import Enum
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

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


class BindingKind(Enum):
    ASSIGN = "a plain assignment"  # ``name = value``: one target, a plain name
    PARAM = "a parameter"
    IMPORT = "an import"
    DEF = "a def or class statement"
    OTHER = "any other binding"


class ScopeKind(Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    LAMBDA = "lambda"
    COMPREHENSION = "comprehension"


@dataclass(frozen=True)
class Span:
    """Where a node is, as stdlib ``ast`` gives it: 1-based lines, 0-based columns counted in
    UTF-8 bytes (flake8's columns)."""

    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def of(cls, node: ast.AST) -> Span:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end_line = getattr(node, "end_lineno", None) or line
        end_col = getattr(node, "end_col_offset", None)
        return cls(line, col, end_line, col if end_col is None else end_col)


class BindingSite:
    """One binding of ``name`` in ``scope``: its kind, the node (the statement of an
    ASSIGN or IMPORT), what the linter bound it to, and the value of an ASSIGN."""

    __slots__ = ("name", "kind", "scope", "node", "meaning", "value")

    def __init__(
        self,
        name: str,
        kind: BindingKind,
        scope: Scope,
        node: ast.AST,
        meaning: str = UNKNOWN,
        value: Optional[ast.AST] = None,
    ) -> None:
        self.name, self.kind, self.scope, self.node = name, kind, scope, node
        self.meaning, self.value = meaning, value

    @property
    def span(self) -> Span:
        return Span.of(self.node)


def same_value(first: Optional[ast.AST], other: ast.AST) -> bool:
    """Do two assignments of a name bind the same thing: the same expression, made only of
    constants, attributes, subscripts and calls whose names are called or have attributes
    read (modules, functions: ``os.getenv("REDIS_URL")``, ``Redis.from_url(...)``), never a
    variable passed as a value (it may have changed in between)?"""
    if first is None or not isinstance(other, ast.expr):
        return False
    allowed = (
        ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.keyword, ast.Load,
    )  # fmt: skip
    roots = set()
    for node in ast.walk(other):
        if not isinstance(node, allowed):
            return False
        if isinstance(node, ast.Attribute):
            roots.add(id(node.value))
        elif isinstance(node, ast.Call):
            roots.add(id(node.func))
    names = (node for node in ast.walk(other) if isinstance(node, ast.Name))
    if any(id(name) not in roots for name in names):
        return False
    return ast.dump(first) == ast.dump(other)


class Scope:
    """One Python scope: what each name means now (source order), and every binding site and
    read over the whole scope once the checker's visit is done.

    ``bindings`` is what each name means now; ``values`` the expression last assigned to a
    plain name (``url = os.getenv("REDIS_URL")``) while that is its only binding here, or
    while every binding here is that same expression (:func:`same_value`: the same
    environment read in two branches), so that a rule can follow a variable to its value.
    ``sites`` holds every binding of the scope
    (``global`` names declared elsewhere included), ``refs`` every ``ast.Name`` read in it."""

    __slots__ = (
        "bindings", "parent", "is_class", "values", "counts", "kind", "node", "sites", "refs",
        "globals",
    )  # fmt: skip

    def __init__(
        self,
        parent: Optional[Scope] = None,
        is_class: bool = False,
        kind: Optional[ScopeKind] = None,
        node: Optional[ast.AST] = None,
    ) -> None:
        self.bindings: Dict[str, str] = {}
        self.values: Dict[str, ast.AST] = {}
        self.counts: Dict[str, int] = {}
        self.parent = parent
        self.is_class = is_class
        if kind is None:
            kind = ScopeKind.FUNCTION if parent else ScopeKind.MODULE
        self.kind = ScopeKind.CLASS if is_class else kind
        self.node = node
        self.sites: Dict[str, List[BindingSite]] = {}
        self.refs: List[ast.Name] = []
        self.globals: Set[str] = set()

    def bind(
        self,
        name: str,
        value: str,
        expr: Optional[ast.AST] = None,
        kind: BindingKind = BindingKind.OTHER,
        at: Optional[ast.AST] = None,
    ) -> None:
        """``name`` now means ``value``; ``at`` (the binding node) records the site."""
        self.bindings[name] = value
        count = self.counts.get(name, 0) + 1
        self.counts[name] = count
        if expr is not None and count == 1:
            self.values[name] = expr
        elif expr is None or not same_value(self.values.get(name), expr):
            self.values.pop(name, None)
        if at is not None:
            self.record(name, kind, at, value, expr)

    def record(
        self,
        name: str,
        kind: BindingKind,
        at: ast.AST,
        meaning: str = UNKNOWN,
        value: Optional[ast.AST] = None,
    ) -> None:
        """A binding site that changes no meaning the rules see (``del``, ``global``...)."""
        site = BindingSite(name, kind, self, at, meaning, value)
        self.sites.setdefault(name, []).append(site)

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


def resolve(
    expr: ast.AST, scope: Scope, seen: Optional[Mapping[int, Optional[str]]] = None
) -> Optional[str]:
    """Canonical qualified name of a Name/Attribute chain, or ``None`` when its root is not
    an import (or an alias of one). ``seen``: what a root ``Name`` meant where it was read
    (``id(node)`` -> binding), for a value followed from an earlier assignment."""
    attrs = []
    while isinstance(expr, ast.Attribute):
        attrs.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    root = seen[id(expr)] if seen and id(expr) in seen else scope.lookup(expr.id)
    if root is None or root.startswith("@"):
        return None
    if not attrs:
        return root
    return canonical(".".join([root, *reversed(attrs)]))


class Reference:
    """A read of ``name`` (an ``ast.Name`` in load context) in ``scope``."""

    __slots__ = ("node", "scope")

    def __init__(self, node: ast.Name, scope: Scope) -> None:
        self.node, self.scope = node, scope

    @property
    def name(self) -> str:
        return self.node.id

    @property
    def span(self) -> Span:
        return Span.of(self.node)


class FileModel:
    """The scope facts of one file, as the checker's visit recorded them over whole scopes:
    the one model the fixers read (which names a scope binds, how often and to what, where a
    name is read, which bindings a removal leaves unused)."""

    def __init__(self, scopes: List[Scope], dunder_all: Set[str]) -> None:
        self.scopes = scopes
        self.module_scope = scopes[0]
        self.dunder_all = dunder_all
        self._refs: Optional[Dict[str, List[Reference]]] = None
        self._at: Optional[Dict[Tuple[int, int], Reference]] = None
        self._assignments: Optional[Dict[Span, BindingSite]] = None

    @property
    def refs_by_name(self) -> Dict[str, List[Reference]]:
        if self._refs is None:
            self._refs = {}
            for scope in self.scopes:
                for node in scope.refs:
                    self._refs.setdefault(node.id, []).append(Reference(node, scope))
        return self._refs

    def bound_anywhere(self, name: str) -> bool:
        return any(name in scope.sites for scope in self.scopes)

    def reference_at(self, line: int, col: int) -> Optional[Reference]:
        """The read that starts at ``line``/``col`` (``ast`` columns)."""
        if self._at is None:
            self._at = {
                (ref.node.lineno, ref.node.col_offset): ref
                for refs in self.refs_by_name.values()
                for ref in refs
            }
        return self._at.get((line, col))

    def assignment_of(self, value: Span) -> Optional[BindingSite]:
        """The plain assignment whose value is the expression at ``value``."""
        if self._assignments is None:
            self._assignments = {
                Span.of(site.value): site
                for scope in self.scopes
                for sites in scope.sites.values()
                for site in sites
                if site.kind is BindingKind.ASSIGN and site.value is not None
            }
        return self._assignments.get(value)

    def lookup(self, name: str, scope: Scope) -> Optional[Scope]:
        """The scope whose bindings a read of ``name`` in ``scope`` sees, over the whole
        scopes (``None``: a builtin or unbound). Class scopes are skipped from inside
        functions; a ``global`` name is the module's."""
        current: Optional[Scope] = scope
        first = True
        while current is not None:
            if current.kind is ScopeKind.CLASS and not first:
                current = current.parent
                continue
            if name in current.globals:
                return self.module_scope if name in self.module_scope.sites else None
            if name in current.sites:
                return current
            first = False
            current = current.parent
        return None

    def single_binding(self, name: str, scope: Scope) -> Optional[BindingSite]:
        """The one binding a read of ``name`` in ``scope`` sees; ``None`` when its scope
        binds it more than once (a ``global`` elsewhere counts), or nothing binds it."""
        owner = self.lookup(name, scope)
        sites = owner.sites[name] if owner is not None else []
        return sites[0] if len(sites) == 1 else None

    def references_to(self, name: str, owner: Scope) -> List[Reference]:
        """Every read of ``name`` that sees the bindings of ``owner``."""
        return [r for r in self.refs_by_name.get(name, []) if self.lookup(name, r.scope) is owner]

    def qualname(self, expr: ast.AST, scope: Scope) -> Optional[str]:
        """``r.Redis.from_url`` -> ``redis.Redis.from_url`` when ``r`` is only ever bound by
        imports of one name; ``None`` otherwise."""
        if isinstance(expr, ast.Attribute):
            head = self.qualname(expr.value, scope)
            return canonical(f"{head}.{expr.attr}") if head else None
        if not isinstance(expr, ast.Name):
            return None
        owner = self.lookup(expr.id, scope)
        if owner is None:
            return None
        sites = owner.sites[expr.id]
        meanings = {site.meaning for site in sites}
        if any(site.kind is not BindingKind.IMPORT for site in sites) or len(meanings) != 1:
            return None
        return meanings.pop()
