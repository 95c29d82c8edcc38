"""Bindings, references and imports of a libcst module, in one visit.

libcst's ``QualifiedNameProvider``/``ScopeProvider`` are far too slow for a whole code base
(FACTS: ~530 s on the standard library), so the fixers use this small, conservative model
instead:

- a scope per module, class and function (lambdas and comprehensions belong to the enclosing
  scope, so their targets count as bindings there: this only makes names *less* resolvable);
- for each scope and name, every binding (assignment, parameter, import, ``def``/``class``,
  loop or ``with`` target, ``global``...), with the statement and value of plain assignments;
- every reference (a ``Name`` that is read), with its parent node;
- what an import binds, from the linter's own import-binding function
  (:func:`flake8_rqjobs.names.bind_import`, :func:`~flake8_rqjobs.names.bind_import_from`),
  relative imports resolved against the file's module exactly as the linter resolves them.

This model serves editing (which statements and references a rewrite touches, which names
are free); what a call means comes from the linter's sites. A name with anything but one plain
binding is "not simple", and the fixers do not rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, Iterator, List, Optional, Sequence, Set, Union

import libcst as cst

from flake8_rqjobs.names import bind_import, bind_import_from, canonical


class BindingKind(Enum):
    ASSIGN = "a plain assignment"
    PARAM = "a parameter"
    IMPORT = "an import"
    OTHER = "any other binding"


class ScopeKind(Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"


ASSIGN, PARAM, IMPORT, OTHER = BindingKind
MODULE, CLASS, FUNCTION = ScopeKind


@dataclass
class Binding:
    """One way a name gets a value in a scope."""

    kind: BindingKind
    statement: Optional[cst.CSTNode] = None  # the SimpleStatementLine of an ASSIGN
    value: Optional[cst.BaseExpression] = None  # the assigned value of an ASSIGN
    qualname: Optional[str] = None  # what an IMPORT binds


@dataclass
class Scope:
    kind: ScopeKind
    node: cst.CSTNode
    parent: Optional[Scope]
    bindings: Dict[str, List[Binding]] = field(default_factory=dict)
    globals: Set[str] = field(default_factory=set)
    nonlocals: Set[str] = field(default_factory=set)
    name: str = ""

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def enclosing_functions(self) -> Iterator[Scope]:
        scope: Optional[Scope] = self
        while scope is not None:
            if scope.kind is FUNCTION:
                yield scope
            scope = scope.parent


@dataclass
class Reference:
    """A ``Name`` that is read, where it is, and what contains it."""

    node: cst.Name
    scope: Scope
    parent: cst.CSTNode


def _dotted(node: Union[cst.Attribute, cst.Name]) -> str:
    if isinstance(node, cst.Name):
        return node.value
    return _dotted(node.value) + "." + node.attr.value  # type: ignore[arg-type]


def _store_names(target: cst.BaseExpression) -> Iterator[cst.Name]:
    """Names bound by an assignment target (``a``, ``a, b``, ``[a, *b]``)."""
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _store_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _store_names(target.value)


class Model(cst.CSTVisitor):
    """Build the model with ``module.visit(Model())`` (or :func:`analyse`)."""

    def __init__(self, current_module: str = "", is_package: bool = False) -> None:
        super().__init__()
        self.current_module = current_module
        self.is_package = is_package
        self.module_scope: Optional[Scope] = None
        self.scope_stack: List[Scope] = []
        self.scopes: List[Scope] = []
        self.node_stack: List[cst.CSTNode] = []
        self.parents: Dict[int, cst.CSTNode] = {}
        self.references: List[Reference] = []
        self.refs_by_name: Dict[str, List[Reference]] = {}
        self.scope_of: Dict[int, Scope] = {}  # id(node) -> scope, for statements and calls
        self.all_bound_names: Set[str] = set()
        self.dunder_all: Set[str] = set()
        self.calls: List[cst.Call] = []
        self.tries: List[cst.Try] = []
        self.functions: List[cst.FunctionDef] = []
        self.import_lines: List[cst.SimpleStatementLine] = []  # lines with an import
        self._not_refs: Set[int] = set()

    # --- traversal bookkeeping ------------------------------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.node_stack:
            self.parents[id(node)] = self.node_stack[-1]
        self.node_stack.append(node)
        if self.scope_stack:
            self.scope_of[id(node)] = self.scope_stack[-1]
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        self.node_stack.pop()
        if self.scope_stack and self.scope_stack[-1].node is original_node:
            self.scope_stack.pop()

    @property
    def scope(self) -> Scope:
        return self.scope_stack[-1]

    def _bind(self, name: str, binding: Binding, scope: Optional[Scope] = None) -> None:
        (scope or self.scope).bind(name, binding)
        self.all_bound_names.add(name)

    # --- scopes ---------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self.module_scope = Scope(MODULE, node, None)
        self.scopes.append(self.module_scope)
        self.scope_stack.append(self.module_scope)
        self.scope_of[id(node)] = self.module_scope

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)
        self._bind(node.name.value, Binding(OTHER))
        self._not_refs.add(id(node.name))
        # Decorators, defaults and annotations are evaluated in the enclosing scope; the
        # parameters are visited inside the function scope below (close enough: a default
        # that reads a name the function also binds is rare and only makes us stricter).
        scope = Scope(FUNCTION, node, self.scope, name=node.name.value)
        self.scopes.append(scope)
        self.scope_stack.append(scope)
        for param in _all_params(node.params):
            self._bind(param.name.value, Binding(PARAM), scope)
            self._not_refs.add(id(param.name))

    def visit_Lambda(self, node: cst.Lambda) -> None:
        for param in _all_params(node.params):
            self._bind(param.name.value, Binding(OTHER))
            self._not_refs.add(id(param.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name.value, Binding(OTHER))
        self._not_refs.add(id(node.name))
        scope = Scope(CLASS, node, self.scope, name=node.name.value)
        self.scopes.append(scope)
        self.scope_stack.append(scope)

    # --- bindings -------------------------------------------------------------------
    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.scope.globals.add(item.name.value)
            self._not_refs.add(id(item.name))
            if self.module_scope is not None:
                self._bind(item.name.value, Binding(OTHER), self.module_scope)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self.scope.nonlocals.add(item.name.value)
            self._not_refs.add(id(item.name))
            self._bind(item.name.value, Binding(OTHER))

    def visit_Assign(self, node: cst.Assign) -> None:
        statement = self.node_stack[-2] if len(self.node_stack) > 1 else None
        simple = (
            len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
        )
        for target in node.targets:
            for name in _store_names(target.target):
                self._not_refs.add(id(name))
                if simple:
                    self._bind(name.value, Binding(ASSIGN, statement, node.value))
                else:
                    self._bind(name.value, Binding(OTHER))
            if isinstance(target.target, cst.Name) and target.target.value == "__all__":
                self._record_all(node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        for name in _store_names(node.target):
            self._not_refs.add(id(name))
            self._bind(name.value, Binding(OTHER))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        # ``x += 1`` reads and rebinds x: keep it as a reference, and as a binding.
        for name in _store_names(node.target):
            self._bind(name.value, Binding(OTHER))
        if isinstance(node.target, cst.Name) and node.target.value == "__all__":
            self._record_all(node.value)

    def visit_For(self, node: cst.For) -> None:
        self._store_other(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._store_other(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._store_other(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._store_other(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        parent = self.node_stack[-2] if len(self.node_stack) > 1 else None
        if not isinstance(parent, cst.ImportAlias):
            self._store_other(node.name)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self._store_other(node.name)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self._store_other(node.name)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self._store_other(node.rest)

    def _store_other(self, target: cst.BaseExpression) -> None:
        for name in _store_names(target):
            self._not_refs.add(id(name))
            self._bind(name.value, Binding(OTHER))

    def _record_all(self, value: cst.BaseExpression) -> None:
        if isinstance(value, (cst.List, cst.Tuple)):
            for element in value.elements:
                if isinstance(element.value, cst.SimpleString):
                    self.dunder_all.add(element.value.evaluated_value.__str__())

    def _import_line(self) -> None:
        statement = self.node_stack[-2] if len(self.node_stack) > 1 else None
        if isinstance(statement, cst.SimpleStatementLine):
            self.import_lines.append(statement)

    def visit_Import(self, node: cst.Import) -> bool:
        self._import_line()
        aliases = [(_dotted(alias.name), _asname(alias)) for alias in node.names]
        for local, qualname in bind_import(aliases).items():
            self._bind(local, Binding(IMPORT, qualname=qualname))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self._import_line()
        if isinstance(node.names, cst.ImportStar):
            return False
        module = _dotted(node.module) if node.module is not None else None
        aliases = [(_dotted(alias.name), _asname(alias)) for alias in node.names]
        bound = bind_import_from(
            module, len(node.relative), aliases, self.current_module, self.is_package
        )
        for local, qualname in bound.items():
            self._bind(local, Binding(IMPORT, qualname=qualname))
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Try(self, node: cst.Try) -> None:
        self.tries.append(node)

    # --- references -----------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_refs.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_refs.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._not_refs:
            return
        parent = self.node_stack[-2]
        reference = Reference(node, self.scope, parent)
        self.references.append(reference)
        self.refs_by_name.setdefault(node.value, []).append(reference)

    # --- queries --------------------------------------------------------------------
    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.parents.get(id(node))

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(id(node))
        while current is not None:
            yield current
            current = self.parents.get(id(current))

    def statement_of(self, node: cst.CSTNode) -> Optional[cst.BaseStatement]:
        """The statement (simple line or compound) that contains ``node``."""
        for ancestor in [node, *self.ancestors(node)]:
            if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return ancestor
        return None

    def scope_at(self, node: cst.CSTNode) -> Scope:
        scope = self.scope_of.get(id(node))
        assert scope is not None
        return scope

    def lookup(self, name: str, scope: Scope) -> Optional[Scope]:
        """The scope whose binding of ``name`` a read in ``scope`` sees (None: builtin or
        unbound). Class scopes are skipped from inside functions, as Python does."""
        current: Optional[Scope] = scope
        first = True
        while current is not None:
            if current.kind is CLASS and not first:
                current = current.parent
                continue
            if name in current.globals:
                return (
                    self.module_scope
                    if self.module_scope and name in self.module_scope.bindings
                    else None
                )
            if name in current.bindings:
                return current
            first = False
            current = current.parent
        return None

    def single_binding(self, name: str, scope: Scope) -> Optional[Binding]:
        """The one binding a read of ``name`` in ``scope`` sees, or None when there are
        several, when another scope rebinds it through ``global``/``nonlocal``, or when the
        name is unbound."""
        owner = self.lookup(name, scope)
        if owner is None:
            return None
        bindings = owner.bindings[name]
        if len(bindings) != 1:
            return None
        return bindings[0]

    def qualname(self, expr: cst.BaseExpression, scope: Scope) -> Optional[str]:
        """``r.Redis.from_url`` -> ``redis.Redis.from_url`` when ``r`` is ``import redis as r``
        and nothing else binds ``r``; None otherwise."""
        if isinstance(expr, cst.Name):
            owner = self.lookup(expr.value, scope)
            if owner is None:
                return None
            bindings = owner.bindings[expr.value]
            names = {b.qualname for b in bindings}
            if any(b.kind is not IMPORT for b in bindings) or len(names) != 1:
                return None
            return names.pop()
        if isinstance(expr, cst.Attribute):
            head = self.qualname(expr.value, scope)
            return canonical(f"{head}.{expr.attr.value}") if head else None
        return None

    def references_to(self, name: str, owner: Scope) -> List[Reference]:
        """Every read of ``name`` that sees the binding in ``owner``."""
        return [r for r in self.refs_by_name.get(name, []) if self.lookup(name, r.scope) is owner]

    def bound_anywhere(self, name: str) -> bool:
        return name in self.all_bound_names


def _all_params(params: cst.Parameters) -> Sequence[cst.Param]:
    result: List[cst.Param] = [*params.posonly_params, *params.params, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        result.append(params.star_arg)
    if params.star_kwarg is not None:
        result.append(params.star_kwarg)
    return result


def _asname(alias: cst.ImportAlias) -> Optional[str]:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def analyse(module: cst.Module, current_module: str = "", is_package: bool = False) -> Model:
    """The editing model of ``module``; ``current_module``/``is_package`` locate the file
    (:func:`flake8_rqjobs.names.module_location`) for relative imports."""
    model = Model(current_module, is_package)
    module.visit(model)
    return model
